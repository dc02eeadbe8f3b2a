"""The Lightning logger that writes a run's epoch metrics into the MLflow run this process owns."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from lightning.pytorch.loggers.logger import Logger
from lightning.pytorch.utilities import rank_zero_only
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from src.runtime.writes import SerialWriter


class MlflowRunLogger(Logger):
    """Lightning logger writing into a run this process already owns.

    Lightning's MLFlowLogger creates and terminates runs itself (FINISHED right after fit, before
    testing); owning the run in `tracked_run` keeps its status honest. Each epoch's metrics go in
    one `log_batch` call, made by `writer`'s thread: the store's commit (8-9 ms on sqlite here,
    twice an epoch) is then off the training thread. The trainer writes its checkpoints through
    the same writer, so that they never get ahead of the metrics (`SerialWriter`). `finalize`,
    which Lightning calls at the end of every stage, also when it fails or is interrupted, waits
    for the writes and raises their errors. Not MLflow's `synchronous=False`: its queue's thread
    is joined at exit and polls with a 1 s timeout, up to a second more on every command's exit.
    """

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        super().__init__()
        self._client = client
        self._run_id = run_id
        self.writer = SerialWriter()  # build_trainer hands it to the checkpoints too

    @property
    def name(self) -> str:
        return "mlflow"

    @property
    def version(self) -> str:
        return self._run_id

    @property
    def experiment(self) -> MlflowClient:
        return self._client

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Parameters come from the resolved config (`log_params`), not from Lightning."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        values = {key: float(value) for key, value in metrics.items()}
        epoch = int(values.pop("epoch", step or 0))
        if not values:
            return
        timestamp = int(time.time() * 1000)
        batch = [Metric(key, value, timestamp, epoch) for key, value in values.items()]
        self.writer.submit(self._client.log_batch, self._run_id, batch)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.writer.wait()  # a write that failed raises its error here
