"""Ctrl-C inside a Lightning loop: the loop stops between batches and the run is marked KILLED."""

from __future__ import annotations

import os
import signal
import time

import pytest
from mlflow import MlflowClient

from src.runtime.signals import RunInterrupted
from tests.helpers import tiny_train_args


@pytest.fixture
def ctrl_c_enabled():
    """SIGINT raising KeyboardInterrupt, as at a terminal (a background shell may ignore it)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_epoch_end_logging_stops_between_batches_and_marks_the_run_killed(
    tiny_data_dir, tmp_path, tracking_env, ctrl_c_enabled, signal_handlers
) -> None:
    """Ctrl-C while epoch 0's MLflow writes are in flight: they finish, the loop stops before epoch
    1's first batch, the run is KILLED (a KeyboardInterrupt in the middle of a write could leave
    the sqlite store locked, and marking the run KILLED then failed: seen once in CI)."""
    from lightning.pytorch.callbacks import Callback

    from src.config.parsing import parse_train_config
    from src.training.run import run_training

    client = MlflowClient(tracking_env)
    written_after_ctrl_c = []

    class CtrlCWhileLogging(Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # its handler runs before the next line
            client.log_metric(trainer.logger.version, "written_after_ctrl_c", 1.0)
            written_after_ctrl_c.append(trainer.current_epoch)

    words = [
        *tiny_train_args(tiny_data_dir, tmp_path, "ctrl-c-at-epoch-end"),
        "--trainer.max_epochs=5",
    ]
    sigint_handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(RunInterrupted) as stop:
        run_training(parse_train_config(words), extra_callbacks=[CtrlCWhileLogging()])

    assert stop.value.exit_code == 130
    assert written_after_ctrl_c == [0]
    run = client.get_run(stop.value.run_id)
    assert run.info.status == "KILLED"
    assert run.data.metrics["written_after_ctrl_c"] == 1.0
    assert [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")] == [0]
    assert list((tmp_path / "checkpoints").glob("*/*/last.ckpt"))
    assert signal.getsignal(signal.SIGINT) is sigint_handler  # put back after fit
    # A tuning parent stops its workers with SIGTERM after their own Ctrl-C: ignored while
    # stopping, it must not cut short the interrupted trial's bookkeeping.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.5)
