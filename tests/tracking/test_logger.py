"""src/tracking/logger.py: MlflowRunLogger writes each epoch's metrics into a run this process
owns, in one log_batch call, with the epoch as the step, from a thread that `finalize` (the end
of every Lightning stage) waits for."""

from __future__ import annotations

import uuid

import pytest
import torch
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from src.tracking.logger import MlflowRunLogger
from src.tracking.store import ensure_experiment, use_store


class CountingClient(MlflowClient):
    """The real client, counting the batches it writes."""

    def __init__(self, tracking_uri: str) -> None:
        super().__init__(tracking_uri)
        self.batches = 0

    def log_batch(self, *args, **kwargs):
        self.batches += 1
        return super().log_batch(*args, **kwargs)


@pytest.fixture
def client(mlflow_store: str) -> CountingClient:
    use_store(mlflow_store)
    return CountingClient(mlflow_store)


@pytest.fixture
def run_id(client: CountingClient) -> str:
    experiment_id = ensure_experiment(client, f"logger-{uuid.uuid4().hex[:8]}")
    return client.create_run(experiment_id).info.run_id


@pytest.fixture
def logger(client: CountingClient, run_id: str) -> MlflowRunLogger:
    return MlflowRunLogger(client, run_id)


def write(logger: MlflowRunLogger, metrics: dict, step: int | None = None) -> None:
    """One epoch's log_metrics, then the end of the stage: the write is done."""
    logger.log_metrics(metrics, step=step)
    logger.finalize("success")


def history(client: MlflowClient, run_id: str, key: str) -> list[tuple[float, int]]:
    return [(m.value, m.step) for m in client.get_metric_history(run_id, key)]


def test_one_call_writes_all_its_metrics_in_one_batch(logger, client, run_id) -> None:
    write(logger, {"train/loss": 0.5, "train/acc": 0.8, "val/acc": 0.9, "epoch": 3}, step=120)
    assert client.batches == 1
    assert set(client.get_run(run_id).data.metrics) == {"train/loss", "train/acc", "val/acc"}


def test_the_epoch_is_the_step_not_lightnings_global_step(logger, client, run_id) -> None:
    write(logger, {"val/acc": 0.9, "epoch": 3}, step=120)
    assert history(client, run_id, "val/acc") == [(0.9, 3)]


def test_the_epoch_itself_is_not_logged_as_a_metric(logger, client, run_id) -> None:
    write(logger, {"val/acc": 0.9, "epoch": 3})
    assert "epoch" not in client.get_run(run_id).data.metrics


def test_without_an_epoch_the_step_given_is_the_step(logger, client, run_id) -> None:
    write(logger, {"test/acc": 0.97}, step=7)
    assert history(client, run_id, "test/acc") == [(0.97, 7)]


def test_without_epoch_or_step_the_step_is_0(logger, client, run_id) -> None:
    write(logger, {"test/acc": 0.97})
    assert history(client, run_id, "test/acc") == [(0.97, 0)]


def test_each_epoch_adds_a_point_to_the_history(logger, client, run_id) -> None:
    for epoch, loss in enumerate([0.9, 0.5]):
        logger.log_metrics({"train/loss": loss, "epoch": epoch})
    logger.finalize("success")
    assert history(client, run_id, "train/loss") == [(0.9, 0), (0.5, 1)]


def test_tensor_values_are_written_as_floats(logger, client, run_id) -> None:
    write(logger, {"val/loss": torch.tensor(0.25), "epoch": torch.tensor(2)})
    assert history(client, run_id, "val/loss") == [(0.25, 2)]


@pytest.mark.parametrize("metrics", [{}, {"epoch": 4}], ids=["nothing", "only-the-epoch"])
def test_no_metrics_write_nothing(logger, client, run_id, metrics) -> None:
    write(logger, metrics, step=5)
    assert client.batches == 0
    assert client.get_run(run_id).data.metrics == {}


def test_hyperparameters_from_lightning_are_not_logged(logger, client, run_id) -> None:
    logger.log_hyperparams({"lr": 0.1})
    assert client.batches == 0
    assert client.get_run(run_id).data.params == {}


def test_the_logger_is_named_by_its_run(logger, client, run_id) -> None:
    assert (logger.name, logger.version, logger.experiment) == ("mlflow", run_id, client)


def test_every_epoch_is_written_and_a_later_stage_writes_again(logger, client, run_id) -> None:
    for epoch in range(20):  # queued while "training" goes on
        logger.log_metrics({"train/loss": 1.0 / (epoch + 1), "epoch": epoch})
    logger.finalize("success")
    logger.log_metrics({"test/acc": 0.97}, step=20)  # the test stage, after fit's finalize
    logger.finalize("success")
    assert [step for _, step in history(client, run_id, "train/loss")] == list(range(20))
    assert history(client, run_id, "test/acc") == [(0.97, 20)]
    assert client.batches == 21


def test_a_failed_write_raises_when_the_stage_ends(client) -> None:
    logger = MlflowRunLogger(client, "no-such-run")
    logger.log_metrics({"val/acc": 0.9, "epoch": 0})  # training goes on: the write is queued
    with pytest.raises(MlflowException, match="no-such-run"):
        logger.finalize("success")
    logger.finalize("success")  # the error was raised once; nothing is left to wait for
