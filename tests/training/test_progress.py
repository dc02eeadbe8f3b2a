"""The live progress bar (a terminal): running train metrics, read from the device only every n
steps; one line per epoch when stdout is a file or pipe; quiet mode without a bar or Lightning's
info lines."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch

from src.models.classifier import MLPClassifier
from src.models.metrics import StageMetrics
from src.training.progress import LiveMetricsProgressBar, progress_callbacks, running_train_metrics
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


def test_progress_bar_reads_the_device_only_every_n_steps(monkeypatch) -> None:
    reads = []
    monkeypatch.setattr(
        "src.training.progress.running_train_metrics",
        lambda module: reads.append(1) or {"loss": 1.0},
    )
    bar = LiveMetricsProgressBar(metrics_every_n_steps=20)
    trainer = SimpleNamespace(global_step=0, training=True, callback_metrics={})
    for step in range(100):
        trainer.global_step = step
        assert bar.get_metrics(trainer, None) == {"loss": 1.0}
    assert len(reads) == 5
    trainer.callback_metrics = {"val/acc": torch.tensor(0.5)}
    trainer.training = False  # after validation: always fresh, with the new val values
    assert bar.get_metrics(trainer, None) == {"loss": 1.0, "val_acc": 0.5}


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


def test_progress_bar_shows_live_loss_and_accuracy(
    tiny_data_dir, tmp_path, tracking_env, monkeypatch
) -> None:
    from rich.console import Console

    from src.config.parsing import parse_train_config
    from src.training.run import run_training

    console = Console(record=True, width=200, force_terminal=False)
    monkeypatch.setattr(
        "lightning.pytorch.callbacks.progress.rich_progress.get_console", lambda: console
    )
    words = without_progress_setting(tiny_data_dir, tmp_path, "progress")
    run_training(parse_train_config([*words, "--trainer.enable_progress_bar=true"]))
    text = console.export_text()
    assert "loss:" in text and "acc:" in text and "val_acc:" in text


def without_progress_setting(data_dir, tmp_path, experiment: str) -> list[str]:
    words = tiny_train_args(data_dir, tmp_path, experiment)
    return [w for w in words if "enable_progress_bar" not in w] + ["--mlflow.log_model=false"]


def test_by_default_a_pipe_or_file_gets_one_line_per_epoch_and_no_bar(
    tiny_data_dir, tmp_path, tracking_env, monkeypatch, capsys
) -> None:
    from rich.console import Console

    from src.config.parsing import parse_train_config
    from src.training.run import run_training

    console = Console(record=True, width=200, force_terminal=False)
    monkeypatch.setattr(
        "lightning.pytorch.callbacks.progress.rich_progress.get_console", lambda: console
    )
    run_training(parse_train_config(without_progress_setting(tiny_data_dir, tmp_path, "log")))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert [line.split(" | ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert all(" | train loss " in line and " | val loss " in line for line in lines)
    assert all(line.endswith(" s") for line in lines)
    assert console.export_text() == ""  # no bar was drawn


def test_the_bar_is_the_default_in_a_terminal_and_the_setting_forces_either_way(
    monkeypatch,
) -> None:
    from src.training.progress import EpochLog, shows_bar

    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert shows_bar(None) and isinstance(progress_callbacks(None)[0], LiveMetricsProgressBar)
    assert not shows_bar(False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert not shows_bar(None) and isinstance(progress_callbacks(None)[0], EpochLog)
    assert shows_bar(True) and isinstance(progress_callbacks(True)[0], LiveMetricsProgressBar)
