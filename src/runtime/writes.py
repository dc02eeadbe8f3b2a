"""A run's epoch-end writes (metrics, checkpoints), done off the training thread in order."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

# One epoch hands over up to four writes: validation metrics, best.ckpt, last.ckpt, training
# metrics. Past that the training thread waits, so a store slower than the epochs holds back
# training instead of queueing checkpoint copies without bound.
MAX_PENDING = 4


class SerialWriter:
    """One thread that does the writes handed to it, in the order they were handed over.

    One thread for both the metrics and the checkpoints, because a process killed outright
    (SIGKILL, out of memory) then leaves on disk what a synchronous writer would have: a prefix
    of the writes. A last.ckpt on disk implies that every metric logged before it is in the
    store, so a resume from it leaves no hole in the run's history; with a thread each, the
    checkpoints ran epochs ahead of a slow store's metrics (tests/training/test_writes.py).

    A failed write raises once: at the next `submit` if it is known by then, else in `wait`.
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []

    def submit(self, write: Callable[..., Any], *args: Any) -> None:
        self._collect(block=len(self._pending) >= MAX_PENDING)
        if self._executor is None:  # started here, not in __init__: `wait` stops it
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="epoch-writes")
        self._pending.append(self._executor.submit(write, *args))

    def wait(self) -> None:
        """Waits for every write handed over and stops the thread; raises the first error."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self._collect(block=False)

    def _collect(self, block: bool) -> None:
        """Forgets the finished writes (waiting for the oldest when `block`), raising an error."""
        if block:
            self._pending[0].exception()
        done: list[Future] = []
        pending: list[Future] = []
        for future in self._pending:  # one look at each: a write may finish meanwhile
            (done if future.done() else pending).append(future)
        self._pending = pending
        for future in done:
            future.result()
