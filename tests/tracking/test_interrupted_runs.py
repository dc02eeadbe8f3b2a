"""A run stopped by SIGTERM or Ctrl-C outside a Lightning loop is marked KILLED."""

from __future__ import annotations

import os
import signal
import time

import pytest

from src.runtime.signals import RunInterrupted
from src.tracking import runs, store


def test_sigterm_outside_a_lightning_loop_marks_the_run_killed(
    tracking_env, signal_handlers
) -> None:
    client = store.use_store(tracking_env)
    experiment_id = store.ensure_experiment(client, "sigterm-outside-fit")
    with pytest.raises(RunInterrupted) as stop, runs.tracked_run(experiment_id) as run:
        os.kill(os.getpid(), signal.SIGTERM)  # say, while artifacts are being logged
        time.sleep(5)  # the handler raises in here
    assert stop.value.exit_code == 143
    assert stop.value.run_id == run.info.run_id
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_ctrl_c_outside_a_lightning_loop_marks_the_run_killed(tracking_env) -> None:
    client = store.use_store(tracking_env)
    experiment_id = store.ensure_experiment(client, "sigint-outside-fit")
    with pytest.raises(RunInterrupted) as stop, runs.tracked_run(experiment_id) as run:
        raise KeyboardInterrupt
    assert stop.value.exit_code == 130
    assert client.get_run(run.info.run_id).info.status == "KILLED"
