#!/bin/sh
# Builds and installs llama-cpp-python from source with tccc's recipe, never from a cached wheel.
#
#   tools/llama-cpp/install.sh PYTHON STAMP
#
# PYTHON is the interpreter of the target environment; STAMP a file that records the recipe
# key (the pinned version, this script, the forced-include header and CMAKE_ARGS). When STAMP
# holds the current key the build is skipped; any change to the recipe rebuilds.
#
# The recipe: the version pinned in pyproject.toml, compiled with amx_tileconfig_fix.h
# forced into every C and C++ file (GCC 12's AMX intrinsic bug; see the header). CMAKE_ARGS
# from the environment pass through (for example -DGGML_CUDA=on on a Jetson), and are part of
# the key. pip's wheel cache is bypassed (--no-cache-dir): pip would otherwise reuse a wheel
# built earlier with other flags, whatever CMAKE_ARGS says.
set -eu

python=${1:?usage: install.sh PYTHON STAMP}
stamp=${2:?usage: install.sh PYTHON STAMP}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
header="$here/amx_tileconfig_fix.h"

case "$header" in
*[[:space:]]*)
    echo "install.sh: the checkout path has a space ($header); CFLAGS cannot carry it" >&2
    exit 2
    ;;
esac

requirement=$("$python" - "$root/pyproject.toml" <<'PY'
import sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
pinned = [d.replace(" ", "") for d in deps if d.replace(" ", "").startswith("llama-cpp-python==")]
if len(pinned) != 1:
    sys.exit("pyproject.toml must pin llama-cpp-python with == (the recipe builds one version)")
print(pinned[0])
PY
)

key=$({
    echo "$requirement"
    echo "CMAKE_ARGS=${CMAKE_ARGS:-}"
    cat "$0" "$header"
} | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && "$python" -c "import llama_cpp" 2>/dev/null; then
    echo "llama-cpp-python: built with the current recipe ($requirement)"
    exit 0
fi

echo "llama-cpp-python: building $requirement from source with tools/llama-cpp (a few minutes)"
fix="-include $header"
CFLAGS="${CFLAGS:+$CFLAGS }$fix" CXXFLAGS="${CXXFLAGS:+$CXXFLAGS }$fix" \
    "$python" -m pip install --quiet --no-cache-dir --force-reinstall --no-deps \
    --no-binary llama-cpp-python "$requirement"
echo "$key" >"$stamp"
