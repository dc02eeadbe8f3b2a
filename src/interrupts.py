"""Stopping a run on SIGINT/SIGTERM: RunInterrupted, and the handlers that raise it.

The MLflow run is marked KILLED (tracking.tracked_run) and the process exits 130 or 143. Inside a
Lightning loop both signals stop it at the next batch boundary, so no checkpoint or MLflow write is
cut in half.
"""

from __future__ import annotations

import signal
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
        self.run_id: str | None = None  # set by tracking.tracked_run when a run was open
        self.hint = ""  # how to continue, set by the entry point that knows

    def __str__(self) -> str:
        text = super().__str__()
        if self.run_id:
            text += f"; MLflow run {self.run_id} marked KILLED"
        return f"{text}; {self.hint}" if self.hint else text


_received_signal: int | None = None  # recorded during a Lightning stage, not yet raised
# Set by the first signal, kept after it is raised: later SIGTERMs (a tuning parent stopping its
# workers after their own Ctrl-C) must not cut short marking the run KILLED.
_stopping = False


def _on_sigterm(signum: int, frame: object) -> None:
    """Stop with RunInterrupted, unless a Lightning trainer is running.

    Lightning composes the handler it finds into its own, which sets `trainer.received_sigterm`
    and stops the loop at the next batch boundary (never in the middle of a checkpoint write); so
    when the current handler is not this one, only remember the signal. A second SIGTERM while
    stopping is ignored so that marking the run KILLED is not cut short (SIGKILL still works).
    """
    global _received_signal, _stopping
    if _stopping:
        return
    _stopping = True
    if signal.getsignal(signum) is _on_sigterm:
        raise RunInterrupted(signum)
    _received_signal = signum  # Lightning's loop stops; _stage raises it then


def raise_if_interrupted() -> None:
    """After a Lightning stage returned normally: a signal that arrived meanwhile stops here."""
    signum = take_received_signal()  # consumed: reported once
    if signum is not None:
        raise RunInterrupted(signum)


def take_received_signal() -> int | None:
    """The signal that stopped a Lightning stage, if one was recorded; forgets it."""
    global _received_signal
    signum, _received_signal = _received_signal, None
    return signum


@contextmanager
def sigint_stops_between_batches() -> Iterator[None]:
    """Around a Lightning stage: Ctrl-C stops the loop between batches, as SIGTERM does.

    Lightning turns SIGINT into a KeyboardInterrupt wherever Python happens to be; at epoch end
    that can be inside an MLflow write, whose sqlite transaction then keeps the write lock, and
    marking the run KILLED fails with "database is locked". Lightning's SIGTERM handler, installed
    while its loops run, only sets `trainer.received_sigterm`, which the loops check between
    batches; Ctrl-C goes through it too. Outside the loops, and on a second Ctrl-C, it raises at
    once. A SIGINT that is ignored (a background job) stays ignored.
    """
    global _stopping
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        yield
        return
    _stopping = _received_signal is not None  # a new stage: an earlier, reported stop is over
    sigterm_outside_loop = signal.getsignal(signal.SIGTERM)

    def on_sigint(signum: int, frame: object) -> None:
        global _received_signal, _stopping
        lightning_handler = signal.getsignal(signal.SIGTERM)
        if (
            _stopping
            or lightning_handler is sigterm_outside_loop
            or not callable(lightning_handler)
        ):
            raise KeyboardInterrupt
        _stopping, _received_signal = True, signum  # first: _on_sigterm, composed in, then returns
        lightning_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def install_signal_handlers() -> object:
    """Route SIGTERM through `_on_sigterm`; returns the handler it replaced."""
    global _received_signal, _stopping
    _received_signal, _stopping = None, False
    return signal.signal(signal.SIGTERM, _on_sigterm) if hasattr(signal, "SIGTERM") else None


def restore_signal_handlers(previous: object) -> None:
    """Undo install_signal_handlers, forgetting any signal it recorded (for in-process callers)."""
    global _received_signal, _stopping
    _received_signal, _stopping = None, False
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)
