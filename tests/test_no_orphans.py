"""A `tccc serve` started by the tests dies with the process that started it, however it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, STOP_TIMEOUT_S

pytestmark = pytest.mark.e2e

# A stand-in for a pytest process: starts a server the way the fixtures do, says its pid, waits.
_PARENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import conftest
    server = conftest.start_server(Path(sys.argv[2]), "--no-analyze", "--no-runtime")
    print(server.process.pid, flush=True)
    time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by init) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
def test_server_dies_with_a_killed_parent(tmp_path: Path, how: signal.Signals) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(REPO_ROOT / "tests"), str(tmp_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line.strip().isdigit(), f"the parent did not start a server: {line!r}"
    server_pid = int(line)
    assert _alive(server_pid)
    try:
        parent.send_signal(how)  # no atexit, no finally, no fixture teardown runs
        parent.wait(timeout=10)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(server_pid), f"tccc serve (pid {server_pid}) outlived its parent"
    finally:
        if _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)
