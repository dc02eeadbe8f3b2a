"""Stopping a run on SIGINT/SIGTERM: RunInterrupted, and the handlers that raise it.

The MLflow run is marked KILLED (tracked_run in src/tracking/runs.py) and the process exits 130 or
143. Inside a Lightning loop both signals stop it at the next batch boundary, so no checkpoint or
MLflow write is cut in half.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class RunInterrupted(BaseException):
    """Stopped by SIGINT/SIGTERM: the run is marked KILLED and the process exits 128 + signal.

    A BaseException, like KeyboardInterrupt, so that `except Exception` in library code (Optuna's
    trial loop, MLflow's retries) does not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.exit_code = 128 + signum
        self.run_id: str | None = None  # set by tracked_run when a run was open
        self.hint = ""  # how to continue, set by the entry point that knows

    def __str__(self) -> str:
        text = super().__str__()
        if self.run_id:
            text += f"; MLflow run {self.run_id} marked KILLED"
        return f"{text}; {self.hint}" if self.hint else text


# One handler for both signals, installed by the entry points (run_main, tuning workers).
_received_signal: int | None = None  # recorded, to be raised at the next safe point
# Set by the first signal and kept after it is raised: a later SIGTERM (a tuning parent stopping
# its workers after their own Ctrl-C) must not cut short the bookkeeping of the first.
_stopping = False
_deferring = False  # inside signals_deferred(): outside Lightning's loops, record, do not raise
_delegating = False  # inside our call to Lightning's SIGTERM handler, which calls this one back
_NOT_IN_STAGE = object()
_sigterm_outside_stage: object = _NOT_IN_STAGE  # SIGTERM's handler when the stage began


def _on_signal(signum: int, frame: object) -> None:
    """SIGINT and SIGTERM: stop where nothing is left half-written.

    Inside a Lightning loop, Lightning's own SIGTERM handler (it composes the one it finds, this
    one) sets `trainer.received_sigterm`, and the loop stops at the next batch boundary, never in
    the middle of a checkpoint or an MLflow write; Ctrl-C is routed through it too. Inside
    signals_deferred(), outside Lightning stages, the signal is only recorded. Elsewhere it raises
    at once (KeyboardInterrupt or RunInterrupted). A second Ctrl-C raises at once; a second
    SIGTERM is ignored (SIGKILL still works).
    """
    global _received_signal, _stopping, _delegating
    if _delegating:
        return
    if _stopping:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        return
    _stopping = True
    if _sigterm_outside_stage is not _NOT_IN_STAGE and _distributed():
        # Lightning's SIGTERM path broadcasts from inside its handler, which can deadlock with
        # the collectives in flight (seen here on 2 CPU ranks, 1 run in 4; Lightning issue
        # #20806). Under DDP both signals take its Ctrl-C path: every rank stops at once.
        _received_signal = signum
        raise KeyboardInterrupt
    lightning_handler = _lightning_sigterm_handler()
    if lightning_handler is not None:
        _received_signal = signum  # _stage raises it once the loop has stopped
        if signum != signal.SIGTERM:  # a SIGTERM came through Lightning's handler already
            _delegating = True
            try:
                lightning_handler(signum, frame)
            finally:
                _delegating = False
    elif _deferring and _sigterm_outside_stage is _NOT_IN_STAGE:
        _received_signal = signum  # (in a stage, before or after its loop: Lightning ends it)
    elif signum == signal.SIGINT:
        raise KeyboardInterrupt
    else:
        raise RunInterrupted(signum)


def take_over_sigterm_under_ddp() -> None:
    """Called as a Lightning loop starts (after Lightning installed its handlers): under DDP,
    SIGTERM comes here instead of Lightning's handler (see _on_signal). Lightning puts its
    predecessor back when the stage ends."""
    if _distributed() and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)


def _distributed() -> bool:
    dist = sys.modules.get("torch.distributed")  # never imported here just to ask
    return dist is not None and dist.is_available() and dist.is_initialized()


def _lightning_sigterm_handler() -> object | None:
    """The SIGTERM handler a running Lightning loop installed, if one is running."""
    if _sigterm_outside_stage is _NOT_IN_STAGE:
        return None
    current = signal.getsignal(signal.SIGTERM)
    return current if callable(current) and current is not _sigterm_outside_stage else None


def raise_if_interrupted() -> None:
    """A safe point: a signal recorded since the last one stops here."""
    signum = take_received_signal()  # consumed: reported once
    if signum is not None:
        raise RunInterrupted(signum)


def take_received_signal() -> int | None:
    """The signal recorded for a safe point, if any; forgets it."""
    global _received_signal
    signum, _received_signal = _received_signal, None
    return signum


@contextmanager
def signals_stop_between_batches() -> Iterator[None]:
    """Around a Lightning stage: Ctrl-C and SIGTERM stop the loop between batches.

    Lightning itself turns SIGINT into a KeyboardInterrupt wherever Python happens to be; at epoch
    end that can be inside an MLflow write, whose sqlite transaction then keeps the write lock,
    and marking the run KILLED failed with "database is locked". A SIGINT that is ignored (a
    background job) stays ignored.
    """
    global _sigterm_outside_stage, _stopping
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; Lightning installs no handler here either
        return
    _stopping = _received_signal is not None  # a new stage: an earlier, reported stop is over
    _sigterm_outside_stage = signal.getsignal(signal.SIGTERM)
    sigint = signal.getsignal(signal.SIGINT)
    if sigint is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _on_signal)
    try:
        yield
    finally:
        _sigterm_outside_stage = _NOT_IN_STAGE
        if sigint is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, sigint)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Outside Lightning's loops, SIGINT/SIGTERM are recorded, and raised by the next
    raise_if_interrupted(): a tuning worker is never interrupted inside Optuna's or MLflow's
    bookkeeping. Needs install_signal_handlers() for SIGINT."""
    global _deferring
    previous, _deferring = _deferring, True
    try:
        yield
    finally:
        _deferring = previous


def install_signal_handlers() -> tuple[object, object]:
    """Route SIGTERM, and SIGINT unless ignored, through `_on_signal`; returns the handlers it
    replaced, for restore_signal_handlers."""
    global _received_signal, _stopping
    _received_signal, _stopping = None, False
    sigint = signal.getsignal(signal.SIGINT)
    if sigint is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _on_signal)
    return signal.signal(signal.SIGTERM, _on_signal), sigint


def restore_signal_handlers(previous: tuple[object, object]) -> None:
    """Undo install_signal_handlers, forgetting any signal it recorded (for in-process callers)."""
    global _received_signal, _stopping
    _received_signal, _stopping = None, False
    sigterm, sigint = previous
    for signum, handler in ((signal.SIGTERM, sigterm), (signal.SIGINT, sigint)):
        if handler is not None:
            signal.signal(signum, handler)
