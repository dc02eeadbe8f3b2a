"""What the user sees while training: one line per epoch (train and validation loss and
accuracy, epoch time), and in a terminal a Rich progress bar under those lines with the live
train loss/accuracy; when stdout is a file or pipe (a CI log, nohup, `| tee`), the lines alone;
with `trainer.enable_progress_bar=false`, nothing at all (quiet mode).

The running values are read from the module's on-device metric states only when the bar redraws
(a few times a second): the training step itself never waits on the device.
"""

from __future__ import annotations

import logging
import sys
import time

from lightning.pytorch.callbacks import Callback, RichProgressBar
from lightning.pytorch.callbacks.progress.rich_progress import _RefreshThread

from src.runtime.process import RANK_ZERO_LOGGERS, rank_zero_loggers

# Loggers whose INFO lines ("GPU available: ...", "Restoring states from the checkpoint ...",
# MLflow's "Creating initial MLflow database tables") are noise in CI logs.
CHATTY_LOGGERS = ("mlflow", *RANK_ZERO_LOGGERS)

BAR_WIDTH = 20
# Redraws per second. Lightning's default of 100 re-renders the bar from a thread that competes
# with training for the GIL (measured: 12% of an epoch on 2 vCPUs); a person reads a few a second.
BAR_REFRESHES_PER_S = 4
VAL_KEYS = {"val/loss": "val_loss", "val/acc": "val_acc"}


class LiveMetricsProgressBar(RichProgressBar):
    """RichProgressBar with this epoch's running train loss and accuracy.

    One bar for the whole fit, reset each epoch (`leave=False`): with `leave=True` Lightning
    stops and restarts Rich's display every epoch, and stopping joined its refresh thread, which
    sleeps between redraws: up to 1/BAR_REFRESHES_PER_S s of the training thread's time, 4.5%
    of an epoch on 2 vCPUs (benchmarks/README.md; WakeOnStop now takes that wait out of the
    stops that remain, one a stage). The finished epochs stay on screen as the EpochLog lines
    Rich prints above the bar, which also carry the validation results.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("leave", False)
        kwargs.setdefault("refresh_rate", BAR_REFRESHES_PER_S)
        super().__init__(**kwargs)
        self._updated_at = -float("inf")

    def setup(self, trainer, pl_module, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        for logger in rank_zero_loggers():
            logger.addFilter(self._above_the_bar)

    def teardown(self, trainer, pl_module, stage: str) -> None:
        for logger in rank_zero_loggers():
            logger.removeFilter(self._above_the_bar)
        super().teardown(trainer, pl_module, stage)

    def _above_the_bar(self, record: logging.LogRecord) -> bool:
        """Lightning's info lines ("`Trainer.fit` stopped: `max_epochs=15` reached.") written by
        its log handler while the bar is live land in the middle of the bar's line, and Rich then
        redraws the bar under them: a torn copy of the bar stays on screen. Printed through the
        bar's console instead, they go above it, as the epoch lines do."""
        live = self.progress is not None and self.progress.live.is_started
        if live and record.levelno < logging.WARNING:
            self._console.print(record.getMessage(), markup=False, highlight=False)
            return False
        return True

    def _init_progress(self, trainer) -> None:
        super()._init_progress(trainer)
        if self.progress is not None:
            wake_on_stop(self.progress)

    def get_metrics(self, trainer, pl_module) -> dict[str, float]:
        # Asked only when the bar is updated (below): one device read per redraw, not per step.
        return running_train_metrics(pl_module)

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

    def _get_train_description(self, current_epoch: int) -> str:
        # Lightning counts from 0 ("Epoch 0/14"); the epoch lines above count from 1, as people do.
        return f"Epoch {current_epoch + 1}/{self.trainer.max_epochs}"

    def configure_columns(self, trainer) -> list:
        from rich.progress import BarColumn

        columns = super().configure_columns(trainer)
        for column in columns:
            if isinstance(column, BarColumn):
                column.bar_width = BAR_WIDTH  # leave room for the metrics on an 80-column line
        return columns


class WakeOnStop(_RefreshThread):
    """Lightning's refresh thread for the bar (it redraws only when asked, `refresh_cond`),
    waiting on its stop event instead of sleeping.

    Lightning's sleeps 1/BAR_REFRESHES_PER_S s between looks, and stopping the bar, at the end
    of every stage (fit, validate, test), joins it: 0.08-0.19 s a fit, measured (benchmarks/
    README.md), against 0.002 s with this one.
    """

    def run(self) -> None:
        while not self.done.wait(1 / self.refresh_per_second):
            if self.refresh_cond:
                with self.live._lock:
                    self.live.refresh()
                self.refresh_cond = False


def wake_on_stop(progress) -> None:
    """Puts a WakeOnStop in place of the started bar's refresh thread. The old one is told to
    stop and left to end after its current sleep (a daemon: not joined)."""
    live = progress.live
    old = live._refresh_thread
    if not isinstance(old, _RefreshThread) or isinstance(old, WakeOnStop):
        return
    old.stop()
    new = WakeOnStop(live, old.refresh_per_second)
    new.refresh_cond = old.refresh_cond
    live._refresh_thread = new
    new.start()


def running_train_metrics(pl_module) -> dict[str, float]:
    """This process's running train loss and accuracy for the epoch so far, in one device read.

    Read from the metric states rather than `compute()`: compute() would synchronise across DDP
    ranks, and only rank 0 draws the bar.
    """
    import torch

    metrics = getattr(pl_module, "train_metrics", None)
    if metrics is None or not metrics.running.update_called:
        return {}
    running = metrics.running
    seen = running.seen.clamp(min=1)
    values = torch.stack([running.loss_sum / seen, running.correct / seen]).tolist()
    return {"loss": values[0], "acc": values[1]}


def last_val_metrics(trainer) -> dict[str, float]:
    """The latest epoch's validation loss and accuracy (computed once per epoch)."""
    found = trainer.callback_metrics
    return {short: float(found[key]) for key, short in VAL_KEYS.items() if key in found}


class EpochLog(Callback):
    """One line per epoch (train and validation loss and accuracy, epoch time) and nothing per
    batch: what a log file wants, and what stays on screen above the bar in a terminal."""

    def __init__(self) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return
        # Callbacks run before the module's hook resets the train metrics.
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


def progress_callbacks(enabled: bool | None) -> list[Callback]:
    """The bar and the epoch log (`enabled` true, or null in a terminal), the epoch log alone
    (null elsewhere), or quiet mode (false): no bar, no lines and no Lightning/MLflow info lines.

    Without the bar the Trainer must also get `enable_progress_bar=False` (shows_bar), or
    Lightning adds its default tqdm bar.
    """
    if enabled is False:
        quiet_logging()
        return []
    if shows_bar(enabled):  # Rich prints the epoch lines above its live bar
        return [LiveMetricsProgressBar(), EpochLog()]
    return [EpochLog()]
