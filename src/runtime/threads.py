"""Each process gets its share of the cores: small matmuls collapse when oversubscribed."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """Cores this process may run on: its affinity mask (taskset, cpusets), not the host's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def configure_threads(processes_sharing_cpu: int = 1) -> int:
    """Set torch's intra-op threads to this process's share of the usable cores; returns it."""
    import torch

    share = max(1, usable_cpus() // max(1, processes_sharing_cpu))
    torch.set_num_threads(share)
    return share
