"""The default worker count follows the CPUs a container may use (cgroup quota, affinity), not the host's cores.
Each case lays out cgroup files as the kernel shows them, in a temporary cgroup root."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds_service.workers import MAX_DEFAULT_WORKERS, MIN_DEFAULT_WORKERS, CpuBudget, cpu_budget, default_workers

HOST_CORES = 64


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def budget(root: Path, proc_cgroup: str = "0::/\n", affinity: int | None = HOST_CORES) -> CpuBudget:
    write(root / "proc-self-cgroup", proc_cgroup)
    return cpu_budget(
        cgroup_root=root / "sys-fs-cgroup",
        proc_self_cgroup=root / "proc-self-cgroup",
        affinity=(lambda: set(range(affinity))) if affinity else (lambda: set()),
        cpu_count=lambda: HOST_CORES,
    )


def test_a_cgroup_v2_quota_inside_a_container_sets_the_workers(tmp_path: Path) -> None:
    write(tmp_path / "sys-fs-cgroup" / "cpu.max", "150000 100000\n")  # docker run --cpus 1.5

    found = budget(tmp_path)

    assert found.cpus == 1.5 and "cgroup v2" in found.source and "/sys/fs/cgroup/cpu.max" in found.source
    assert default_workers(found).workers == 2  # ceil(1.5)


def test_a_kubernetes_cpu_limit_of_750m_still_gets_two_workers(tmp_path: Path) -> None:
    write(tmp_path / "sys-fs-cgroup" / "cpu.max", "75000 100000\n")

    count = default_workers(budget(tmp_path))

    assert count.workers == MIN_DEFAULT_WORKERS == 2 and "at least 2" in count.explanation


def test_a_four_cpu_quota_gives_one_worker_per_cpu(tmp_path: Path) -> None:
    write(tmp_path / "sys-fs-cgroup" / "cpu.max", "400000 100000\n")

    assert default_workers(budget(tmp_path)).workers == 4


def test_no_cgroup_limit_and_all_host_cores_is_capped(tmp_path: Path) -> None:
    write(tmp_path / "sys-fs-cgroup" / "cpu.max", "max 100000\n")

    found = budget(tmp_path)
    count = default_workers(found)

    assert found.cpus == HOST_CORES and "affinity" in found.source
    assert count.workers == MAX_DEFAULT_WORKERS == 8  # not 64
    assert "capped at 8" in count.explanation


def test_a_cgroup_v1_quota_is_read_from_the_cpu_controller(tmp_path: Path) -> None:
    cpu = tmp_path / "sys-fs-cgroup" / "cpu,cpuacct"
    write(cpu / "cpu.cfs_quota_us", "200000\n")
    write(cpu / "cpu.cfs_period_us", "100000\n")

    found = budget(tmp_path, "12:cpu,cpuacct:/\n11:memory:/\n")

    assert found.cpus == 2 and "cgroup v1" in found.source
    assert default_workers(found).workers == 2


def test_cgroup_v1_without_a_quota_writes_minus_one(tmp_path: Path) -> None:
    cpu = tmp_path / "sys-fs-cgroup" / "cpu"
    write(cpu / "cpu.cfs_quota_us", "-1\n")
    write(cpu / "cpu.cfs_period_us", "100000\n")

    found = budget(tmp_path, "4:cpu:/\n", affinity=2)

    assert found.cpus == 2 and "affinity" in found.source


def test_a_limit_on_a_parent_cgroup_applies_to_the_process_below_it(tmp_path: Path) -> None:
    root = tmp_path / "sys-fs-cgroup"
    write(root / "kubepods.slice" / "cpu.max", "300000 100000\n")  # the pod: 3 CPUs
    write(root / "kubepods.slice" / "container-1" / "cpu.max", "max 100000\n")

    found = budget(tmp_path, "0::/kubepods.slice/container-1\n")

    assert found.cpus == 3 and "kubepods.slice/cpu.max" in found.source
    assert default_workers(found).workers == 3


def test_the_affinity_mask_wins_when_it_is_smaller_than_the_quota(tmp_path: Path) -> None:
    write(tmp_path / "sys-fs-cgroup" / "cpu.max", "800000 100000\n")  # 8 CPUs of quota

    found = budget(tmp_path, affinity=2)  # taskset -c 0,1

    assert found.cpus == 2 and "affinity" in found.source


def test_without_cgroup_files_or_affinity_it_falls_back_to_the_cpu_count(tmp_path: Path) -> None:
    found = budget(tmp_path, affinity=None)

    assert found == CpuBudget(float(HOST_CORES), "os.cpu_count()")


@pytest.mark.parametrize(("cpus", "workers"), [(0.1, 2), (0.5, 2), (1, 2), (2, 2), (2.5, 3), (3, 3), (7.5, 8), (16, 8)])
def test_the_formula(cpus: float, workers: int) -> None:
    assert default_workers(CpuBudget(cpus, "test")).workers == workers


def test_malformed_cgroup_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path / "sys-fs-cgroup" / "cpu.max", "garbage\n")

    assert budget(tmp_path, affinity=3).cpus == 3
