"""What the user sees while training: in a terminal, a Rich progress bar with live train
loss/accuracy; when stdout is a file or pipe (a CI log, nohup, `| tee`), one line per epoch; with
`trainer.enable_progress_bar=false`, nothing at all (quiet mode).

The running values are read from the module's on-device metric states only when the bar asks for
them, every `metrics_every_n_steps` batches: the training step itself never waits on the device.
"""

from __future__ import annotations

import logging
import sys
import time

from lightning.pytorch.callbacks import Callback, RichProgressBar

from src.runtime.process import RANK_ZERO_LOGGERS

# Loggers whose INFO lines ("GPU available: ...", "Restoring states from the checkpoint ...",
# MLflow's "Creating initial MLflow database tables") are noise in CI logs.
CHATTY_LOGGERS = ("mlflow", *RANK_ZERO_LOGGERS)

BAR_WIDTH = 20
# Redraws per second. Lightning's default of 100 re-renders the bar from a thread that competes
# with training for the GIL (measured: 12% of an epoch on 2 vCPUs); a person reads a few a second.
BAR_REFRESHES_PER_S = 4
VAL_KEYS = {"val/loss": "val_loss", "val/acc": "val_acc"}  # short names keep the bar on one line


class LiveMetricsProgressBar(RichProgressBar):
    """RichProgressBar showing this epoch's running train loss/acc and the last val loss/acc."""

    def __init__(self, metrics_every_n_steps: int = 25, **kwargs) -> None:
        kwargs.setdefault("leave", True)
        kwargs.setdefault("refresh_rate", BAR_REFRESHES_PER_S)
        super().__init__(**kwargs)
        self.metrics_every_n_steps = max(1, metrics_every_n_steps)
        self._shown: dict[str, float] = {}
        self._read_at_step = -1
        self._updated_at = -float("inf")

    def get_metrics(self, trainer, pl_module) -> dict[str, float]:
        step = trainer.global_step
        # Lightning asks after every batch; the cached values are served between reads.
        due = step - self._read_at_step >= self.metrics_every_n_steps or not trainer.training
        if due or not self._shown:
            self._read_at_step = step
            self._shown = {**running_train_metrics(pl_module), **last_val_metrics(trainer)}
        return self._shown

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if self._redraw_due(batch_idx, self.total_train_batches):
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        total = self.total_val_batches_current_dataloader
        if self._redraw_due(batch_idx, total):
            super().on_validation_batch_end(
                trainer, pl_module, outputs, batch, batch_idx, dataloader_idx
            )

    def _redraw_due(self, batch_idx: int, total: int | float) -> bool:
        """Rich's per-batch bookkeeping (task update, metrics text, refresh) cost ~0.6 ms a batch
        here, 15% of an epoch: the bar is updated when a redraw is due, and at an epoch's end."""
        now = time.monotonic()
        if batch_idx + 1 < total and now - self._updated_at < 1 / BAR_REFRESHES_PER_S:
            return False
        self._updated_at = now
        return True

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


class EpochLog(Callback):
    """One line per epoch (train and validation loss and accuracy, epoch time) and nothing per
    batch: what a log file wants from the progress bar."""

    def __init__(self) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return
        # Callbacks run before the module's hook resets the train metrics (as for the bar).
        train, val = running_train_metrics(pl_module), last_val_metrics(trainer)
        parts = [f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"]
        if train:
            parts.append(f"train loss {train['loss']:.4f} acc {train['acc']:.4f}")
        if val:
            parts.append(f"val loss {val['val_loss']:.4f} acc {val['val_acc']:.4f}")
        parts.append(f"{time.perf_counter() - self._started:.1f} s")
        print(" | ".join(parts), flush=True)


def shows_bar(setting: bool | None) -> bool:
    """trainer.enable_progress_bar: null means a bar only when stdout is a terminal."""
    return sys.stdout.isatty() if setting is None else setting


def quiet_logging() -> None:
    """Only warnings and errors from Lightning and MLflow; progress and info lines are dropped."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def progress_callbacks(enabled: bool | None, metrics_every_n_steps: int = 25) -> list[Callback]:
    """The bar (`enabled` true, or null in a terminal), the epoch log (null elsewhere), or quiet
    mode (false): no bar and no Lightning/MLflow info lines.

    Without the bar the Trainer must also get `enable_progress_bar=False` (shows_bar), or
    Lightning adds its default tqdm bar.
    """
    if enabled is False:
        quiet_logging()
        return []
    if shows_bar(enabled):
        return [LiveMetricsProgressBar(metrics_every_n_steps)]
    return [EpochLog()]
