"""The thread count follows the CPUs this process may run on, not the machine's."""

from __future__ import annotations

import os

import pytest


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_thread_share_follows_the_cpu_affinity_mask() -> None:
    """`taskset -c 0 python -m src.train` on a 2-core machine must train with 1 thread, not 2."""
    import torch

    from src.runtime.threads import configure_threads

    mask, threads = os.sched_getaffinity(0), torch.get_num_threads()
    try:
        os.sched_setaffinity(0, {min(mask)})
        assert configure_threads(1) == 1
        assert torch.get_num_threads() == 1
    finally:
        os.sched_setaffinity(0, mask)
        torch.set_num_threads(threads)
    assert configure_threads(len(mask)) == 1
    torch.set_num_threads(threads)
