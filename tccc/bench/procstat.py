"""/proc readers for `tccc bench stream`: CPU time and peak RSS of a server and its children."""

from __future__ import annotations

import os
from pathlib import Path

from tccc.bench.stt import peak_rss_mb
from tccc.errors import TcccError


def parse_proc_stat(stat: str, clock_ticks: int) -> tuple[int, float]:
    """(parent pid, utime + stime in seconds) from the text of /proc/PID/stat."""
    # The command name (field 2) is in parentheses and may itself hold spaces or ")".
    rest = stat[stat.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state), so ppid is field 4 and utime, stime are fields 14 and 15.
    return int(rest[1]), (int(rest[11]) + int(rest[12])) / clock_ticks


def descendants(root: int, parents: dict[int, int]) -> list[int]:
    """`root` and every process below it, given a pid -> parent pid map."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _proc_table() -> dict[int, tuple[int, float]]:
    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                table[int(entry.name)] = parse_proc_stat((entry / "stat").read_text(), ticks)
            except (OSError, ValueError, IndexError):
                continue  # the process exited while the table was read
    return table


def server_processes(pid: int) -> list[int]:
    """The server process and its descendants, so a wrapper's pid (a shell) still counts."""
    if not Path(f"/proc/{pid}").is_dir():
        raise TcccError(f"no process {pid}")
    return descendants(pid, {p: ppid for p, (ppid, _) in _proc_table().items()})


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by the process and its descendants."""
    table = _proc_table()
    if pid not in table:
        raise TcccError(f"cannot read the CPU time of process {pid}")
    tree = descendants(pid, {p: ppid for p, (ppid, _) in table.items()})
    return sum(table[p][1] for p in tree if p in table)


def server_peak_rss_mb(pid: int) -> float | None:
    """Largest peak RSS (VmHWM) among the server process and its descendants, in MiB."""
    peaks = [peak_rss_mb(p) for p in server_processes(pid)]
    return max((p for p in peaks if p is not None), default=None)
