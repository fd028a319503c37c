"""What the kernel says about a process tree: CPU time from ``/proc/<pid>/stat``, peak RSS from
``/proc/<pid>/status``. A uvicorn with ``--workers`` is a supervisor and its worker children: all are counted."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may hold spaces: split after its closing one.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process (all its threads)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of stat)


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat_fields(int(entry))[1]) == pid:
                    found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                continue
    return found


def tree(pid: int) -> list[int]:
    """The process and its descendants."""
    pids = [pid]
    for child in children(pid):
        pids.extend(tree(child))
    return pids


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (all cores, every process)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / TICKS


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class TreeCpu:
    """CPU seconds of a process tree, read together at one moment."""

    pids: list[int]

    def read(self) -> float:
        total = 0.0
        for pid in self.pids:
            try:
                total += cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total

    def peak_rss(self) -> list[float]:
        return [peak_rss_mib(pid) for pid in self.pids]
