# tccc: two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages: curl for the seed's test command; espeak-ng and sox to synthesise speech;
# libportaudio2 for microphone capture (sounddevice); g++ to build llama-cpp-python, which
# compiles from source on install (about 4 minutes on two cores).
APT_PACKAGES := curl espeak-ng sox libportaudio2 g++ chromium

.PHONY: install apt demo sample test lint typecheck unit e2e bench clean

install: $(STAMP)

# llama-cpp-python is built first, from source, by tools/llama-cpp/install.sh: the AMX fix for
# GCC 12 forced into the build, pip's wheel cache bypassed. Its stamp holds the recipe's key, so
# an existing .venv is rebuilt when the recipe (the script, the header, the pinned version or
# CMAKE_ARGS) changes, and only then.
LLAMA_RECIPE := tools/llama-cpp/install.sh tools/llama-cpp/amx_tileconfig_fix.h
LLAMA_STAMP  := $(VENV)/.llama-recipe

$(BIN)/python:
	@$(MAKE) --no-print-directory apt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(LLAMA_RECIPE) | $(BIN)/python
	@$(MAKE) --no-print-directory apt
	@tools/llama-cpp/install.sh $(BIN)/python $(LLAMA_STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Installs missing Debian packages when running as root (CI, fresh machines); otherwise says
# which are missing and carries on, since the tests that need them skip with a reason.
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || { echo "apt-get install failed for:$$missing"; exit 1; }; \
	  else echo "not root: please install$$missing (apt-get install -y$$missing)"; fi; \
	fi

demo: install
	$(BIN)/tccc demo

# Rebuilds tccc/data/sample_narration.ogg from sample_narration.txt (espeak-ng and sox).
sample: install
	$(BIN)/python -m tccc.bench.sample

lint: install
	$(BIN)/ruff check tccc tests
	$(BIN)/ruff format --check tccc tests

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -m "not e2e" -q

e2e: install
	$(BIN)/pytest -m e2e -q

# The deployment checks run first, as their own step (about a minute): every Kubernetes overlay
# rendered with kubectl kustomize and validated offline with kubernetes-validate --strict, the
# policy tests on the rendered objects, hadolint on every Dockerfile, and the image's entry
# command run from the installed package in the pod's environment (tests/test_deploy_*.py).
test: install
	$(BIN)/ruff check tccc tests
	$(BIN)/mypy
	$(BIN)/pytest -q -ra tests/test_deploy_*.py
	$(BIN)/pytest -q -ra --ignore-glob='tests/test_deploy_*.py'

bench: install
	$(BIN)/tccc bench stt --json bench-results/stt.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
