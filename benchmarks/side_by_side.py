"""Per epoch, the default command and the raw loop side by side: both processes at once, each
pinned to a vCPU of its own (so one thread each), piped.

Run one after the other, the two sides meet different machines: on these shared vCPUs the same
raw-loop epoch takes 1.6 s in one minute and 2.5 s in the next, and whole-process A/B ratios of
the same code moved from 1.15x to 1.56x between two benchmark runs. Side by side, a slow spell
hits both. An epoch is the time between two epoch lines as they arrive (training, validation and
whatever else the process does between them: checkpoints, MLflow writes), not the seconds the
line prints, which are rounded to 0.1 s. The raw loop runs until the command ends; only its
epochs that ran inside the command's epochs 2..N count, so both medians come from the same
stretch of time. One thread each is not the user's two: read this row next to the alternating
ones, not instead of them.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

# "epoch 3/6 | train loss ... | 2.3 s" (src.train's epoch log), "epoch 3 val loss ... 2.1 s" (raw)
EPOCH_LINE = re.compile(r"^epoch \d+\D.*?([0-9.]+) s\s*$", re.MULTILINE)
RAW_EPOCHS_UNTIL_STOPPED = 10_000


def two_cpus() -> tuple[int, int] | None:
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else None


def _start(command: list[str], cpu: int, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )  # fmt: skip


def _epoch_ends(process: subprocess.Popen, into: list[float]) -> threading.Thread:
    """A thread that appends the time each epoch line arrives (both sides flush them)."""

    def read() -> None:
        for line in process.stdout:
            if EPOCH_LINE.match(line.decode(errors="replace").strip()):
                into.append(time.perf_counter())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def side_by_side(
    ours: list[str], raw: Callable[[int], list[str]], cpus: tuple[int, int], cwd: Path, root: Path
) -> tuple[float, float]:
    """(median seconds of the command's epochs 2..N, median of the raw loop's epochs that started
    and ended within them), the command on cpus[0] and the raw loop on cpus[1]."""
    theirs = _start(raw(RAW_EPOCHS_UNTIL_STOPPED), cpus[1], root)
    mine = _start(ours, cpus[0], cwd)
    mine_ends: list[float] = []
    raw_ends: list[float] = []
    readers = [_epoch_ends(mine, mine_ends), _epoch_ends(theirs, raw_ends)]
    try:
        if mine.wait() != 0:
            raise RuntimeError(f"{' '.join(ours)} exited with {mine.returncode}")
    finally:
        theirs.kill()
        theirs.wait()
        for reader in readers:
            reader.join()
    if len(mine_ends) < 3:
        raise RuntimeError("side by side needs 3 epochs or more: epochs 2..N, one period each")
    started, ended = mine_ends[0], mine_ends[-1]
    during = [b - a for a, b in pairwise(raw_ends) if a >= started and b <= ended]
    if not during:
        raise RuntimeError("the raw loop finished no epoch during the command's epochs 2..N")
    mine_periods = [b - a for a, b in pairwise(mine_ends)]
    return statistics.median(mine_periods), statistics.median(during)
