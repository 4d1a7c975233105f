"""How many gunicorn workers `osteo-cds serve` starts when OSTEO_CDS_WORKERS is unset: from the CPUs this process
may really use (a container's cgroup CPU quota, the CPU affinity mask), never from the host's core count alone.

The formula is `ceil(WORKERS_PER_CPU × cpus)`, at least MIN_DEFAULT_WORKERS and at most MAX_DEFAULT_WORKERS: 2 CPUs
give 2 workers, a 750m or 1.5-CPU container 2, a 4-CPU one 4, a 64-core node 8, not 64. A hook call is CPU-bound
Python (the GIL lets one thread of a process run at a time), so more processes than CPUs only add context switches
and memory: on 2 cores (bench/results/layouts-2026-12-07) 2 workers × 2 threads served the typical chart at 8
connections with ~15–30 % less CPU per request and ~20–60 % more throughput than the old 5 × 4, heavy charts ~1.6× the
throughput, in half the memory (280 vs 570 MiB). Two at least, so one slow call or a worker being recycled never
stalls the pod. Each worker takes about 140 MiB after warm-up and runs OSTEO_CDS_THREADS threads (2: a second
thread overlaps a call waiting on the FHIR server or the network). These numbers are the ones to re-tune from
measurements: they are only here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WORKERS_PER_CPU = 1
MIN_DEFAULT_WORKERS = 2
MAX_DEFAULT_WORKERS = 8

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")


@dataclass(frozen=True)
class CpuBudget:
    cpus: float  # may be fractional (a cgroup quota of 750m is 0.75)
    source: str  # where the figure comes from, for `osteo-cds config` and the start-up log


@dataclass(frozen=True)
class WorkerCount:
    workers: int
    explanation: str


def default_workers(budget: CpuBudget) -> WorkerCount:
    wanted = math.ceil(WORKERS_PER_CPU * budget.cpus)
    workers = max(MIN_DEFAULT_WORKERS, min(MAX_DEFAULT_WORKERS, wanted))
    if wanted > MAX_DEFAULT_WORKERS:
        bound = f", capped at {MAX_DEFAULT_WORKERS}"
    elif wanted < MIN_DEFAULT_WORKERS:
        bound = f", at least {MIN_DEFAULT_WORKERS}"
    else:
        bound = ""
    formula = f"ceil({WORKERS_PER_CPU} x {budget.cpus:g} CPU)"
    return WorkerCount(workers, f"{formula}{bound}; CPUs from {budget.source}")


def cpu_budget(
    cgroup_root: Path = CGROUP_ROOT,
    proc_self_cgroup: Path = PROC_SELF_CGROUP,
    affinity: Callable[[], set[int]] | None = None,
    cpu_count: Callable[[], int | None] = os.cpu_count,
) -> CpuBudget:
    """The CPUs available to this process: the smallest of the cgroup quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`
    / `cpu.cfs_period_us`, on this process's cgroup and its ancestors) and the affinity mask; `os.cpu_count()`
    when neither says anything."""
    if affinity is None and hasattr(os, "sched_getaffinity"):
        affinity = lambda: os.sched_getaffinity(0)  # noqa: E731
    candidates: list[CpuBudget] = []
    quota = _cgroup_quota(cgroup_root, proc_self_cgroup)
    if quota is not None:
        candidates.append(quota)
    if affinity is not None:
        try:
            allowed = len(affinity())
        except OSError:
            allowed = 0
        if allowed:
            candidates.append(CpuBudget(float(allowed), "the CPU affinity mask (os.sched_getaffinity)"))
    if candidates:
        return min(candidates, key=lambda c: c.cpus)
    return CpuBudget(float(cpu_count() or 1), "os.cpu_count()")


def _cgroup_quota(root: Path, proc_self_cgroup: Path) -> CpuBudget | None:
    found: list[CpuBudget] = []
    for directory in _own_cgroup_dirs(root, _cgroup_path(proc_self_cgroup, v1_controller=None)):
        limit = _v2_limit(directory / "cpu.max")
        if limit is not None:
            found.append(CpuBudget(limit, f"the cgroup v2 quota in {_shown(root, directory / 'cpu.max')}"))
    v1_path = _cgroup_path(proc_self_cgroup, v1_controller="cpu")
    for mount in (root / "cpu", root / "cpu,cpuacct"):  # the v1 cpu controller's mount (often one is a link)
        for directory in _own_cgroup_dirs(mount, v1_path):
            limit = _v1_limit(directory / "cpu.cfs_quota_us", directory / "cpu.cfs_period_us")
            if limit is not None:
                found.append(CpuBudget(limit, f"the cgroup v1 quota in {_shown(root, directory / 'cpu.cfs_quota_us')}"))
    return min(found, key=lambda c: c.cpus) if found else None


def _cgroup_path(proc_self_cgroup: Path, v1_controller: str | None) -> str:
    """This process's cgroup path from /proc/self/cgroup: the v2 line (`0::/path`) or the v1 line whose
    controllers include `v1_controller` (`4:cpu,cpuacct:/path`). `/` when not found."""
    try:
        lines = proc_self_cgroup.read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        controllers = parts[1].split(",") if parts[1] else []
        if (v1_controller is None and not controllers) or (v1_controller in controllers):
            return parts[2] or "/"
    return "/"


def _own_cgroup_dirs(mount: Path, relative: str) -> list[Path]:
    """The cgroup directory `relative` under `mount` and every ancestor up to `mount` itself (a limit set on a
    parent applies too). Inside a container with its own cgroup namespace `relative` is `/`: just the mount."""
    directory = mount / relative.lstrip("/")
    if not directory.is_dir():
        directory = mount  # the recorded path is the host's view; the mount is this container's own cgroup
    dirs = [directory]
    while directory != mount and mount in directory.parents:
        directory = directory.parent
        dirs.append(directory)
    return dirs


def _v2_limit(cpu_max: Path) -> float | None:
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else _ratio(quota, period)


def _v1_limit(quota_file: Path, period_file: Path) -> float | None:
    try:
        quota, period = quota_file.read_text().strip(), period_file.read_text().strip()
    except OSError:
        return None
    return _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    try:
        value = int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
    return round(value, 3) if value > 0 else None  # v1 writes -1 for "no limit"


def _shown(root: Path, path: Path) -> str:
    """The file as this process would name it under /sys/fs/cgroup (a test passes a temporary root)."""
    try:
        return str(CGROUP_ROOT / path.relative_to(root))
    except ValueError:
        return str(path)
