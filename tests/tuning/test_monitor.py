"""The trial monitor: a trial still training when the study's time is up stops after its batch."""

from __future__ import annotations

import time

import optuna
from mlflow.tracking import MlflowClient

from tests.helpers import tiny_train_args


def test_a_trial_still_training_at_the_timeout_stops_after_its_current_batch(
    tmp_path, tiny_data_dir, tracking_env
):
    from src.config.parsing import parse_train_config
    from src.training.run import run_training
    from src.tuning.monitor import StudyTimeout, TrialMonitor

    trial = optuna.create_study().ask()
    monitor = TrialMonitor(trial, deadline=time.time())
    words = tiny_train_args(tiny_data_dir, tmp_path, "tune-timeout")
    cfg = parse_train_config([*words, "--mlflow.log_model=false"])
    result = run_training(cfg, extra_callbacks=[monitor], run_test=False)
    assert isinstance(monitor.stop_reason, StudyTimeout)
    # of max_epochs=2, one validated epoch: it stopped within the first
    assert len(MlflowClient().get_metric_history(result.run_id, "val/acc")) == 1
