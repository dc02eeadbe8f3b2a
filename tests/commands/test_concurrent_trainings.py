"""Trainings started together against one new sqlite store all finish with complete runs.

Real `python -m src.train` processes: the first query of each creates or checks the store's
schema, which MLflow does not guard against concurrent processes, and every epoch writes metrics.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from src.config.dotted import flatten
from src.config.parsing import parse_train_config
from tests.helpers import ROOT, tiny_train_args

PROCESSES = 2
EPOCHS = 3


@pytest.mark.slow
def test_trainings_started_together_on_a_new_store_all_finish(tiny_data_dir, tmp_path) -> None:
    store = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"  # does not exist yet
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    words = [
        *tiny_train_args(tiny_data_dir, tmp_path, "together"),
        f"--trainer.max_epochs={EPOCHS}",
        "--early_stopping.enabled=false",
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "src.train", *words, f"--seed={seed}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(PROCESSES)
    ]
    results = [(proc.communicate(timeout=600)[1], proc.returncode) for proc in procs]
    for stderr, code in results:
        assert code == 0, stderr[-2000:]
        assert "database is locked" not in stderr

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("together")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == PROCESSES
    expected_params = set(flatten(dataclasses.asdict(parse_train_config(words))))
    for run in runs:
        assert run.info.status == "FINISHED"
        assert expected_params <= set(run.data.params)
        for key in ("train/loss", "val/acc"):
            steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
            assert sorted(steps) == list(range(EPOCHS)), key
        assert {"test/acc", "wall_time_s"} <= set(run.data.metrics)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert "config.yaml" in artifacts
