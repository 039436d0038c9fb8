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
    """The casualty log at `path` (":memory:" keeps it in memory), creating its folder.

    A folder created here is 0700 (it holds patient data); an existing folder is never changed
    (`TCCC_DB=/tmp/x.db` must not touch /tmp). The database files are 0600 (`TranscriptLog`).
    """
    if path is None:
        path = default_db()
    if str(path) != ":memory:":
        path = Path(path).expanduser()
        make_private_folder(path.parent)
    return CasualtyLog(path)


def make_private_folder(folder: Path) -> None:
    """Create `folder` and any missing parents; the folders created are 0700 (whatever the
    umask allows of it), existing ones keep their mode."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by someone else: theirs, left as it is
