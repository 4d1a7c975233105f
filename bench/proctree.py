"""A server's process tree (gunicorn master + workers) read from /proc: pids, RSS, open files, and CPU time.

CPU time is utime + stime of every process in the tree, plus the master's cutime + cstime (the CPU of workers
that exited and were reaped during the measurement, e.g. a worker restart), in seconds. Sampled before and after
a measurement and divided by the requests served, it is the CPU a request costs the server, all threads included
(request threads, the FHIR fetch pool, the issued-card writer, gunicorn's own loop).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return found + [grandchild for child in found for grandchild in children(child)]


def tree_pids(root: int) -> list[int]:
    return [root, *children(root)]


def tree_rss_kib(root: int) -> int:
    total = 0
    for pid in tree_pids(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)
        total += int(match.group(1)) if match else 0
    return total


def tree_open_fds(root: int) -> int:
    total = 0
    for pid in tree_pids(root):
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return total


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its closing parenthesis.
    return text[text.rindex(")") + 2 :].split()


def tree_cpu_seconds(root: int) -> float:
    """utime + stime of the tree, plus cutime + cstime of the root. After the ')' field 3 (state) is index 0, so
    utime (14) is index 11, stime 12, cutime 13, cstime 14."""
    ticks = 0
    for pid in tree_pids(root):
        fields = _stat_fields(pid)
        if fields is None:
            continue  # exited between listing and reading: its CPU moves to the master's cutime once reaped
        ticks += int(fields[11]) + int(fields[12])
        if pid == root:
            ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS
