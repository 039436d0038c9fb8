"""`tegrastats` as a second telemetry source, for boards where sysfs is restricted.

tegrastats prints one line per interval for as long as it runs, so it is started once and a
thread keeps the latest parsed line; sampling then costs nothing. A missing tool, or one that
exits, is a reason, never an invented value.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time

from tccc.runtime.tegrastats import TegrastatsParseError, TegrastatsSample, parse_tegrastats_line

_LOGGER = logging.getLogger(__name__)

OFFLINE_BELOW_C = -40.0
"""tegrastats, like sysfs, prints -256 C for a sensor that is off."""


class TegrastatsFeed:
    """A running `tegrastats --interval MS` and its latest sample."""

    def __init__(self, command: str = "tegrastats", interval_ms: int = 1000) -> None:
        self.command = command
        self.interval_ms = interval_ms
        self.latest: TegrastatsSample | None = None
        self._latest_at = 0.0
        self.reason: str | None = "not started"
        self._process: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start the tool; False (with `reason`) when it is not there or cannot run."""
        executable = shutil.which(self.command)
        if executable is None:
            self.reason = f"{self.command} not found on PATH"
            return False
        try:
            self._process = subprocess.Popen(
                [executable, "--interval", str(self.interval_ms)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        except OSError as exc:
            self.reason = f"{self.command} could not start: {exc}"
            return False
        self.reason = "no line yet"
        self._thread = threading.Thread(target=self._read, name="tegrastats", daemon=True)
        self._thread.start()
        return True

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            try:
                self.latest = parse_tegrastats_line(line)
                self._latest_at = time.monotonic()
                self.reason = None
            except TegrastatsParseError:
                _LOGGER.debug("tegrastats: a line did not parse")
        self.latest = None  # a stopped tool's last line is not a reading of now
        self.reason = f"{self.command} exited"

    def current(self) -> TegrastatsSample | None:
        """The latest line, unless it is older than three intervals (a stalled tool)."""
        stale_s = 3 * self.interval_ms / 1000
        if self.latest is None or time.monotonic() - self._latest_at > stale_s:
            return None
        return self.latest

    def hottest_c(self) -> float | None:
        """The hottest online sensor of the latest line."""
        latest = self.current()
        if latest is None:
            return None
        temps = [t.celsius for t in latest.temperatures if t.celsius > OFFLINE_BELOW_C]
        return max(temps) if temps else None

    def stop(self) -> None:
        """Stop the tool."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._thread is not None:
            self._thread.join(timeout=5)
