"""The live progress bar (a terminal): running train metrics, read from the device only when it
redraws, under one line per epoch; the lines alone when stdout is a file or pipe; quiet mode
without a bar, lines or Lightning's info lines."""

from __future__ import annotations

import io
import logging
import time
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch.callbacks.progress.rich_progress import CustomProgress
from rich.console import Console

from src.models.classifier import MLPClassifier
from src.models.metrics import StageMetrics
from src.training.progress import (
    LiveMetricsProgressBar,
    WakeOnStop,
    progress_callbacks,
    running_train_metrics,
    wake_on_stop,
)
from tests.helpers import tiny_train_args


def module_with_train_metrics() -> MLPClassifier:
    from src.models.mlp import MLP

    module = MLPClassifier(MLP(hidden_dims=[4]), num_classes=3)
    module.train_metrics = StageMetrics(3)
    module.train_metrics.update(torch.tensor(1.0), torch.tensor([0, 1]), torch.tensor([0, 2]))
    module.train_metrics.update(torch.tensor(4.0), torch.tensor([2, 2]), torch.tensor([2, 2]))
    return module


def test_running_train_metrics_equal_the_epoch_metrics_so_far() -> None:
    module = module_with_train_metrics()
    expected = module.train_metrics.compute()
    assert running_train_metrics(module) == pytest.approx(
        {"loss": float(expected["loss"]), "acc": float(expected["acc"])}
    )
    assert running_train_metrics(module) == pytest.approx({"loss": 2.5, "acc": 0.75})


def test_progress_bar_redraws_and_reads_the_device_a_few_times_a_second(monkeypatch) -> None:
    from lightning.pytorch.callbacks import RichProgressBar

    from src.training.progress import BAR_REFRESHES_PER_S

    updates = []
    monkeypatch.setattr(
        RichProgressBar, "on_train_batch_end", lambda self, *args: updates.append(args[-1])
    )
    monkeypatch.setattr(LiveMetricsProgressBar, "total_train_batches", 100)
    clock = [0.0]
    monkeypatch.setattr("src.training.progress.time.monotonic", lambda: clock[0])
    bar = LiveMetricsProgressBar()
    for batch_idx in range(100):  # 100 batches in 1 s
        bar.on_train_batch_end(None, None, None, None, batch_idx)
        clock[0] += 0.01
    # one redraw per 1/BAR_REFRESHES_PER_S s, and the epoch's last batch
    assert updates == [0, 25, 50, 75, 99]
    assert len(updates) == BAR_REFRESHES_PER_S + 1


def test_progress_bar_counts_epochs_from_one_as_the_epoch_lines_do() -> None:
    bar = LiveMetricsProgressBar()
    bar._trainer = SimpleNamespace(max_epochs=15)
    assert bar._get_train_description(0) == "Epoch 1/15"


def test_quiet_mode_has_no_bar_and_silences_lightning_info(monkeypatch) -> None:
    for name in ("lightning.pytorch", "mlflow"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.INFO)
    assert progress_callbacks(enabled=False) == []
    assert logging.getLogger("lightning.pytorch").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("mlflow").getEffectiveLevel() == logging.WARNING
    assert isinstance(progress_callbacks(enabled=True)[0], LiveMetricsProgressBar)


def test_quiet_mode_holds_after_mlflow_pytorch_imported_standalone_pytorch_lightning(
    monkeypatch, caplog
) -> None:
    import lightning_utilities.core.rank_zero as shared
    import mlflow.pytorch  # noqa: F401  (imports pytorch_lightning, as logging a model does)
    from lightning.pytorch.utilities.rank_zero import rank_zero_info

    for name in ("lightning.pytorch", "pytorch_lightning"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.INFO)
    progress_callbacks(enabled=False)
    with caplog.at_level(logging.DEBUG):
        rank_zero_info("GPU available: probe")  # how our Trainer reports, via the shared logger
    assert shared.log.name.split(".")[0] in ("lightning", "pytorch_lightning")
    assert "probe" not in caplog.text


def train_and_watch(data_dir, tmp_path, monkeypatch, capsys, *extra: str):
    """A tiny run without the progress setting in its words, plus `extra`: (what the bar drew,
    the epoch lines printed on stdout)."""
    from src.config.parsing import parse_train_config
    from src.training.run import run_training

    console = Console(record=True, width=200, force_terminal=False)
    monkeypatch.setattr(
        "lightning.pytorch.callbacks.progress.rich_progress.get_console", lambda: console
    )
    words = [w for w in tiny_train_args(data_dir, tmp_path, "watch") if "progress_bar" not in w]
    run_training(parse_train_config([*words, "--mlflow.log_model=false", *extra]))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    return console.export_text(), lines


def test_progress_bar_shows_live_loss_and_accuracy_under_the_epoch_lines(
    tiny_data_dir, tmp_path, tracking_env, monkeypatch, capsys, caplog
) -> None:
    # Lightning's info lines as a user sees them, whatever quiet runs earlier in this process set
    caplog.set_level(logging.INFO, logger="lightning.pytorch")
    bar, lines = train_and_watch(
        tiny_data_dir, tmp_path, monkeypatch, capsys, "--trainer.enable_progress_bar=true"
    )
    assert "Epoch 2/2" in bar and "loss:" in bar and "acc:" in bar
    assert [line.split(" | ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all(" | val loss " in line for line in lines)
    # Lightning's info line at the fit's end is printed above the bar, on a line of its own,
    # not written into the bar's line by a log handler.
    assert "`Trainer.fit` stopped: `max_epochs=2` reached." in bar.splitlines()


def test_by_default_a_pipe_or_file_gets_one_line_per_epoch_and_no_bar(
    tiny_data_dir, tmp_path, tracking_env, monkeypatch, capsys
) -> None:
    bar, lines = train_and_watch(tiny_data_dir, tmp_path, monkeypatch, capsys)
    assert [line.split(" | ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all(" | train loss " in line and " | val loss " in line for line in lines)
    assert all(line.endswith(" s") for line in lines)
    assert bar == ""  # no bar was drawn


def test_the_bar_is_the_default_in_a_terminal_and_the_setting_forces_either_way(
    monkeypatch,
) -> None:
    from src.training.progress import EpochLog, shows_bar

    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    bar, lines = progress_callbacks(None)
    assert shows_bar(None) and isinstance(bar, LiveMetricsProgressBar)
    assert isinstance(lines, EpochLog)
    assert not shows_bar(False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert not shows_bar(None) and isinstance(progress_callbacks(None)[0], EpochLog)
    assert shows_bar(True) and isinstance(progress_callbacks(True)[0], LiveMetricsProgressBar)


def started_progress(refreshes_per_s: float):
    """Lightning's own Rich progress display, started as its bar starts it, into a string."""
    console = Console(file=io.StringIO(), force_terminal=True, width=80)
    progress = CustomProgress(
        auto_refresh=True, refresh_per_second=refreshes_per_s, console=console
    )
    progress.start()
    return progress


def test_the_bar_stops_without_waiting_out_its_refresh_threads_sleep() -> None:
    progress = started_progress(refreshes_per_s=0.01)  # Lightning's thread: 100 s sleeps
    lightnings = progress.live._refresh_thread
    wake_on_stop(progress)
    assert isinstance(progress.live._refresh_thread, WakeOnStop)
    started = time.monotonic()
    progress.stop()
    assert time.monotonic() - started < 10, "the stop waited out a sleep"
    assert lightnings.done.is_set()  # told to stop: it ends after its sleep, unjoined


def test_the_swapped_refresh_thread_still_redraws_when_asked() -> None:
    progress = started_progress(refreshes_per_s=50)
    wake_on_stop(progress)
    redraws = []
    refresh = progress.live.refresh
    progress.live.refresh = lambda: (redraws.append(1), refresh())
    progress.soft_refresh()
    deadline = time.monotonic() + 10
    while not redraws and time.monotonic() < deadline:
        time.sleep(0.01)
    progress.stop()
    assert redraws, "a soft refresh was never drawn"
