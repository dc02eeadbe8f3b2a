"""src/runtime/threads.py: each process's share of the cores it may run on."""

from __future__ import annotations

import os

import pytest
import torch

from src.runtime.threads import configure_threads, usable_cpus


@pytest.fixture(autouse=True)
def torch_threads():
    """configure_threads sets a process-wide count: every test leaves torch's as it found it."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def eight_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """An affinity mask of 8 cores, whatever this machine has."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs CPU affinity (Linux)")
def test_usable_cpus_is_the_size_of_this_process_affinity_mask() -> None:
    assert usable_cpus() == len(os.sched_getaffinity(0))


def test_usable_cpus_follows_the_affinity_mask_not_the_host_core_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert usable_cpus() == 1


@pytest.mark.parametrize(("cores", "usable"), [(6, 6), (None, 1)], ids=["counted", "unknown"])
def test_usable_cpus_without_affinity_support_is_the_core_count_or_1(
    monkeypatch: pytest.MonkeyPatch, cores, usable
) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert usable_cpus() == usable


@pytest.mark.parametrize(
    ("processes", "share"),
    [(1, 8), (2, 4), (3, 2), (8, 1)],
    ids=["alone", "two", "three-rounds-down", "one-each"],
)
def test_each_of_n_processes_gets_its_share_of_the_cores(eight_cpus, processes, share) -> None:
    assert configure_threads(processes) == share
    assert torch.get_num_threads() == share


def test_more_processes_than_cores_still_get_one_thread_each(eight_cpus) -> None:
    assert configure_threads(20) == 1
    assert torch.get_num_threads() == 1


def test_zero_processes_counts_as_one(eight_cpus) -> None:
    assert configure_threads(0) == 8


def test_by_default_the_process_takes_every_usable_core(eight_cpus) -> None:
    assert configure_threads() == 8
