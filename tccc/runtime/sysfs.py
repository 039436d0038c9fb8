"""Reading small /proc and /sys files without ever inventing a value."""

from __future__ import annotations

from pathlib import Path


def read_text(path: Path) -> tuple[str | None, str | None]:
    """Read a small /proc or /sys file: (text, None), or (None, why it could not be read)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace"), None
    except OSError as exc:  # missing, unreadable, or a directory where a file should be
        return None, f"cannot read {path}: {exc.strerror or exc}"
