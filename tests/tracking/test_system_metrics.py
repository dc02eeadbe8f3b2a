"""src/tracking/system_metrics.py: MLflow's system metrics under every run this project opens,
sampled while it is open and written, with a last sample, before it is closed. Real runs in the
session's sqlite store."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from mlflow.tracking import MlflowClient

from src.config.parsing import parse_train_config
from src.errors import ConfigError
from src.runtime.signals import RunInterrupted
from src.tracking.runs import tracked_run
from src.tracking.system_metrics import THREAD_NAME
from tests.helpers import train_tiny

CPU = "system/cpu_utilization_percentage"
MEMORY = "system/system_memory_usage_megabytes"


def system_keys(client: MlflowClient, run_id: str) -> set[str]:
    return {key for key in client.get_run(run_id).data.metrics if key.startswith("system/")}


def monitor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def test_a_training_run_logs_cpu_and_memory_use(finished_run) -> None:
    client, run, _ = finished_run  # a 2-epoch run of a few seconds: shorter than one interval
    assert {CPU, MEMORY, "system/system_memory_usage_percentage"} <= set(run.data.metrics)
    (sample,) = client.get_metric_history(run.info.run_id, CPU)[:1]
    assert 0 < sample.value <= 100  # the last sample measures the run, not an empty instant
    assert run.info.start_time <= sample.timestamp <= run.info.end_time


def test_system_metrics_off_logs_none(tiny_data_dir, tmp_path, tracking_env) -> None:
    result = train_tiny(
        tiny_data_dir, tmp_path, "no-system-metrics",
        "--mlflow.system_metrics=false", "--mlflow.log_model=false", "--trainer.max_epochs=1",
    )  # fmt: skip
    client = MlflowClient(tracking_env)
    assert client.get_run(result.run_id).data.metrics["test/acc"] > 0
    assert system_keys(client, result.run_id) == set()


def test_samples_come_every_interval_and_the_thread_ends_with_the_run(
    client, experiment_id
) -> None:
    with tracked_run(experiment_id, system_metrics_s=0.2) as run:
        assert len(monitor_threads()) == 1
        time.sleep(1.1)
    steps = [m.step for m in client.get_metric_history(run.info.run_id, CPU)]
    assert len(steps) >= 4 and steps == list(range(len(steps)))
    assert monitor_threads() == []


@pytest.mark.parametrize(
    ("error", "status"),
    [(ValueError("diverged"), "FAILED"), (RunInterrupted(signal.SIGTERM), "KILLED")],
)
def test_a_run_that_fails_or_is_killed_keeps_its_sample_and_leaves_no_thread(
    client, experiment_id, error, status
) -> None:
    with pytest.raises(type(error)), tracked_run(experiment_id, system_metrics_s=60) as run:
        raise error
    assert client.get_run(run.info.run_id).info.status == status
    assert len(client.get_metric_history(run.info.run_id, CPU)) == 1
    assert monitor_threads() == []


def test_a_resumed_run_continues_its_system_metric_steps(client, experiment_id) -> None:
    with tracked_run(experiment_id, system_metrics_s=60) as run:
        pass
    with tracked_run(experiment_id, run_id=run.info.run_id, system_metrics_s=60):
        pass
    assert [m.step for m in client.get_metric_history(run.info.run_id, CPU)] == [0, 1]


def test_without_an_interval_a_run_has_no_system_metrics(client, experiment_id) -> None:
    with tracked_run(experiment_id) as run:
        assert monitor_threads() == []
    assert system_keys(client, run.info.run_id) == set()


@pytest.mark.parametrize("value", ["0", "0.05", "-1"])
def test_an_interval_below_a_tenth_of_a_second_is_a_config_error(value) -> None:
    with pytest.raises(
        ConfigError,
        match=r"^mlflow.system_metrics_interval_s=.* is not allowed: expected a number of"
        r" seconds >= 0.1",
    ):
        parse_train_config([f"--mlflow.system_metrics_interval_s={value}"])
