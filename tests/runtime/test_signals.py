"""SIGINT/SIGTERM handling outside Lightning's loops."""

from __future__ import annotations

import os
import signal
import time

import pytest

from src.runtime.signals import RunInterrupted


def test_deferred_signals_wait_for_the_next_safe_point(signal_handlers) -> None:
    """As in a tuning worker between trials: SIGTERM is recorded, not raised inside whatever
    Optuna or MLflow was writing; a second SIGTERM is ignored; the next safe point raises."""
    from src.runtime.signals import raise_if_interrupted, signals_deferred

    with signals_deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)  # nothing raised in here
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        with pytest.raises(RunInterrupted) as stop:
            raise_if_interrupted()
        raise_if_interrupted()  # reported once
    assert stop.value.exit_code == 143
