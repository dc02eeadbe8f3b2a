"""The Lightning callback that ties one training run to its Optuna trial: reports, prunes, stops
on a non-finite loss or the study's deadline, and measures what multi-objective studies need."""

from __future__ import annotations

import math
import statistics
import time

import mlflow
import optuna
import torch
from optuna_integration.pytorch_lightning import PyTorchLightningPruningCallback

LATENCY_BATCH = 1024  # latency_ms: one forward pass over this many images


class NonFiniteLoss(RuntimeError):
    """The loss became nan or inf (say, a huge learning rate): the trial fails with this reason."""


class StudyTimeout(RuntimeError):
    """The study's timeout passed while this trial was training: it stops and fails, so that a
    resumed study runs a full trial in its place."""


class TrialMonitor(PyTorchLightningPruningCallback):
    """Reports `val/acc` to the trial every epoch and stops fit cleanly when the pruner says so,
    the validation loss is no longer finite, or the study's deadline (wall clock) has passed.

    The integration raises TrialPruned from inside fit, which would close the trial's MLflow run
    as FAILED, like a crash. Here fit ends normally (the run keeps its metrics and plots) and the
    objective re-raises `stop_reason` afterwards, so Optuna records PRUNED or FAIL.
    """

    def __init__(
        self,
        trial: optuna.Trial,
        monitor: str = "val/acc",
        prune: bool = True,
        measure_latency: bool = False,
        deadline: float | None = None,
    ) -> None:
        super().__init__(trial, monitor)
        self.prune = prune  # trial.report is single-objective only
        self.measure_latency = measure_latency
        self.deadline = deadline
        self.stop_reason: Exception | None = None
        self.param_count = 0
        self.latency_ms: float | None = None

    def on_fit_start(self, trainer, pl_module) -> None:
        super().on_fit_start(trainer, pl_module)
        self.param_count = sum(p.numel() for p in pl_module.parameters())
        run = mlflow.active_run()
        if run is not None:
            self._trial.set_user_attr("mlflow_run_id", run.info.run_id)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.deadline is not None and self.stop_reason is None and time.time() > self.deadline:
            self._stop(trainer, StudyTimeout("the study's timeout passed during this trial"))

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or self.stop_reason is not None:
            return
        loss = trainer.callback_metrics.get("val/loss")
        if loss is not None and not math.isfinite(float(loss)):
            epoch = pl_module.current_epoch
            self._stop(trainer, NonFiniteLoss(f"val/loss is {float(loss)} at epoch {epoch}"))
            return
        if not self.prune:
            return
        try:
            super().on_validation_end(trainer, pl_module)
        except optuna.TrialPruned as pruned:
            self._stop(trainer, pruned)

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.measure_latency:
            self.latency_ms = inference_latency_ms(pl_module.net, trainer.datamodule.num_features)

    def _stop(self, trainer, reason: Exception) -> None:
        self.stop_reason = reason
        self._trial.set_user_attr("stop_reason", str(reason))
        trainer.should_stop = True

    def raise_if_stopped(self) -> None:
        if self.stop_reason is not None:
            raise self.stop_reason


def inference_latency_ms(net: torch.nn.Module, in_features: int, repeats: int = 10) -> float:
    """Median wall time of one forward pass over LATENCY_BATCH images, on the net's device."""
    device = next(net.parameters()).device
    pixels = torch.zeros(LATENCY_BATCH, in_features, device=device)
    times = []
    net.eval()
    with torch.inference_mode():
        for i in range(repeats + 2):  # two warm-up passes
            started = time.perf_counter()
            net(pixels)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if i >= 2:
                times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
