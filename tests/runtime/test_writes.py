"""src/runtime/writes.py: SerialWriter does the writes handed to it in order, in one thread,
holds the caller back once MAX_PENDING are waiting, and raises a failed write's error once."""

from __future__ import annotations

import threading
import time

import pytest

from src.runtime.writes import MAX_PENDING, SerialWriter


def test_writes_are_done_in_the_order_handed_over_by_one_thread() -> None:
    writer = SerialWriter()
    done: list[tuple[int, str]] = []

    def write(index: int) -> None:
        time.sleep(0.002 * (index % 3))  # uneven durations: a second thread would reorder
        done.append((index, threading.current_thread().name))

    for index in range(20):
        writer.submit(write, index)
    writer.wait()
    assert [index for index, _ in done] == list(range(20))
    assert len({name for _, name in done}) == 1
    assert done[0][1] != threading.current_thread().name


def test_the_caller_waits_once_max_pending_writes_are_queued() -> None:
    writer = SerialWriter()
    gate = threading.Event()
    for _ in range(MAX_PENDING):
        writer.submit(gate.wait)
    handed_over = threading.Event()

    def one_more() -> None:
        writer.submit(lambda: None)
        handed_over.set()

    caller = threading.Thread(target=one_more)
    caller.start()
    assert not handed_over.wait(0.3), "a full queue must hold the caller back"
    gate.set()
    assert handed_over.wait(10)
    caller.join()
    writer.wait()


def test_a_failed_write_raises_at_the_next_submit_and_only_once() -> None:
    writer = SerialWriter()
    writer.submit(_fail)
    time.sleep(0.2)  # the write has failed by now
    with pytest.raises(OSError, match="disk full"):
        writer.submit(lambda: None)
    writer.wait()  # raised once: nothing left to raise


def test_a_failed_write_raises_in_wait_when_not_raised_before() -> None:
    writer = SerialWriter()
    writer.submit(_fail)
    with pytest.raises(OSError, match="disk full"):
        writer.wait()
    writer.wait()


def test_the_writer_starts_again_after_wait() -> None:
    """Lightning ends every stage with a wait; the test stage writes after fit's."""
    writer = SerialWriter()
    done: list[str] = []
    writer.submit(done.append, "fit")
    writer.wait()
    writer.submit(done.append, "test")
    writer.wait()
    assert done == ["fit", "test"]


def _fail() -> None:
    raise OSError("disk full")
