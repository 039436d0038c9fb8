"""Child processes that die with their parent (servers started by tests and benchmarks)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
"""prctl option: the signal the kernel sends this process when its parent thread exits."""


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen that makes the child get SIGKILL when its parent
    dies (None off Linux). Call it in the thread that starts the child and that lives as long
    as the child should: the kernel ties the signal to that thread.

    A parent killed with SIGKILL or a segmentation fault runs no cleanup, so without this a
    `tccc serve` started by a test or a benchmark would keep running, holding its port and
    memory.
    """
    if not sys.platform.startswith("linux"):
        return None
    # Looked up here, in the parent: loading a library between fork and exec can deadlock.
    prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return  # the child still runs; it is only not tied to its parent
        # The parent may have died between fork and prctl: then the child is already orphaned.
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec
