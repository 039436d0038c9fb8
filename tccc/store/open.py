"""Where the casualty log lives, and opening it (`tccc run`, `tccc report`, `tccc serve`)."""

from __future__ import annotations

import os
from pathlib import Path

from tccc.store.casualty_log import CasualtyLog

DEFAULT_DB = Path("~/.local/share/tccc/casualties.db")
"""Where `tccc run` keeps the casualty log unless --db or TCCC_DB says otherwise."""


def default_db() -> Path:
    """TCCC_DB if set, else the per-user casualty log."""
    env = os.environ.get("TCCC_DB")
    return Path(env).expanduser() if env else DEFAULT_DB.expanduser()


def open_log(path: str | Path | None) -> CasualtyLog:
    """The casualty log at `path` (":memory:" keeps it in memory), creating its folder."""
    if path is None:
        path = default_db()
    if str(path) != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        os.chmod(Path(path).expanduser().parent, 0o700)
        path = Path(path).expanduser()
    return CasualtyLog(path)
