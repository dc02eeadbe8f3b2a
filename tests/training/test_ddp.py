"""DDP on two CPU processes: one MLflow run, logged by the main process, with both ranks' data."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from tests.helpers import run_process, tiny_train_args


@pytest.mark.slow
def test_ddp_with_two_cpu_processes(tiny_data_dir, tmp_path, tracking_env) -> None:
    out = run_process(
        "src.train",
        *tiny_train_args(tiny_data_dir, tmp_path, "ddp"),
        "--trainer.strategy=ddp",
        "--trainer.devices=2",
        "--mlflow.log_model=false",
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("ddp").experiment_id])
    assert len(runs) == 1  # the worker process logs into the main process's run
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["devices"] == "2"
    assert run.data.metrics["test/acc"] > 0.8
    assert len(client.get_metric_history(run.info.run_id, "val/acc")) == 2
