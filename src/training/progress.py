"""What the terminal shows while training: a Rich progress bar with live train loss/accuracy, or
nothing at all (quiet mode, for CI and log files).

The running values are read from the module's on-device metric states only when the bar asks for
them, every `metrics_every_n_steps` batches: the training step itself never waits on the device.
"""

from __future__ import annotations

import logging

from lightning.pytorch.callbacks import Callback, RichProgressBar

from src.runtime.process import RANK_ZERO_LOGGERS

# Loggers whose INFO lines ("GPU available: ...", "Restoring states from the checkpoint ...",
# MLflow's "Creating initial MLflow database tables") are noise in CI logs.
CHATTY_LOGGERS = ("mlflow", *RANK_ZERO_LOGGERS)

BAR_WIDTH = 20
VAL_KEYS = {"val/loss": "val_loss", "val/acc": "val_acc"}  # short names keep the bar on one line


class LiveMetricsProgressBar(RichProgressBar):
    """RichProgressBar showing this epoch's running train loss/acc and the last val loss/acc."""

    def __init__(self, metrics_every_n_steps: int = 25, **kwargs) -> None:
        kwargs.setdefault("leave", True)
        super().__init__(**kwargs)
        self.metrics_every_n_steps = max(1, metrics_every_n_steps)
        self._shown: dict[str, float] = {}
        self._read_at_step = -1

    def get_metrics(self, trainer, pl_module) -> dict[str, float]:
        step = trainer.global_step
        # Lightning asks after every batch; the cached values are served between reads.
        due = step - self._read_at_step >= self.metrics_every_n_steps or not trainer.training
        if due or not self._shown:
            self._read_at_step = step
            self._shown = {**running_train_metrics(pl_module), **last_val_metrics(trainer)}
        return self._shown

    def configure_columns(self, trainer) -> list:
        from rich.progress import BarColumn

        columns = super().configure_columns(trainer)
        for column in columns:
            if isinstance(column, BarColumn):
                column.bar_width = BAR_WIDTH  # leave room for the metrics on a 120-column line
        return columns

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # Callbacks run before the module's hook resets the train metrics: show the epoch's final
        # running values on the bar that stays on screen.
        self._read_at_step = -self.metrics_every_n_steps
        super().on_train_epoch_end(trainer, pl_module)


def running_train_metrics(pl_module) -> dict[str, float]:
    """This process's running train loss and accuracy for the epoch so far, in one device read.

    Read from the metric states rather than `compute()`: compute() would synchronise across DDP
    ranks, and only rank 0 draws the bar.
    """
    import torch

    metrics = getattr(pl_module, "train_metrics", None)
    if metrics is None or not metrics.loss.update_called:
        return {}
    loss, acc = metrics.loss, metrics.acc
    seen = (acc.tp.sum() + acc.fn.sum()).clamp(min=1)
    values = torch.stack([loss.total / loss.count, acc.tp.sum() / seen]).tolist()
    return {"loss": values[0], "acc": values[1]}


def last_val_metrics(trainer) -> dict[str, float]:
    """The latest epoch's validation loss and accuracy (computed once per epoch)."""
    found = trainer.callback_metrics
    return {short: float(found[key]) for key, short in VAL_KEYS.items() if key in found}


def quiet_logging() -> None:
    """Only warnings and errors from Lightning and MLflow; progress and info lines are dropped."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def progress_callbacks(enabled: bool, metrics_every_n_steps: int = 25) -> list[Callback]:
    """The bar when enabled; otherwise quiet mode: no bar and no Lightning/MLflow info lines.

    With `enabled=False` the Trainer must also get `enable_progress_bar=False`, or Lightning adds
    its default tqdm bar.
    """
    if not enabled:
        quiet_logging()
        return []
    return [LiveMetricsProgressBar(metrics_every_n_steps)]
