"""GPU code paths. What needs CUDA skips cleanly on CPU-only machines; the rest runs everywhere."""

from __future__ import annotations

import traceback

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils._python_dispatch import TorchDispatchMode

from src.config.parsing import parse_train_config
from src.training.build import build_datamodule, build_model, build_trainer
from src.training.run import run_training
from tests.helpers import tiny_train_args

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_bf16_mixed_precision_trains_on_cpu(tiny_data_dir, tmp_path, tracking_env) -> None:
    args = tiny_train_args(tiny_data_dir, tmp_path, "bf16")
    cfg = parse_train_config([*args, "--trainer.precision=bf16-mixed", "--mlflow.log_model=false"])
    result = run_training(cfg)
    assert result.test_metrics["test/acc"] > 0.5


def test_compile_is_opt_in(tiny_data_dir, tmp_path) -> None:
    cfg = parse_train_config(tiny_train_args(tiny_data_dir, tmp_path, "compile"))
    assert cfg.model.compile is False


@needs_cuda
def test_dataset_lives_on_the_gpu(tiny_data_dir, tmp_path) -> None:
    cfg = parse_train_config(
        [
            *tiny_train_args(tiny_data_dir, tmp_path, "gpu"),
            "--trainer.accelerator=gpu",
            "--trainer.devices=1",
        ]
    )
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    module = build_model(cfg, datamodule)
    trainer = build_trainer(cfg, None, tmp_path / "ckpt")
    trainer.fit(module, datamodule=datamodule)
    pixels, labels = next(iter(datamodule.train_dataloader()))
    assert pixels.device.type == "cuda" and labels.device.type == "cuda"


@needs_cuda
@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_gpu_mixed_precision_run(tiny_data_dir, tmp_path, tracking_env, precision: str) -> None:
    args = tiny_train_args(tiny_data_dir, tmp_path, f"gpu-{precision}")
    cfg = parse_train_config(
        [
            *args,
            "--trainer.accelerator=gpu",
            "--trainer.devices=1",
            f"--trainer.precision={precision}",
            "--mlflow.log_model=false",
        ]
    )
    result = run_training(cfg)
    assert result.test_metrics["test/acc"] > 0.5


class HostReads(TorchDispatchMode):
    """Records every op that copies a tensor value to Python (`.item()`, `bool(t)`, `if t:`).

    On a GPU each one waits for all queued work. The same ops run on the CPU, so this runs anywhere.
    """

    READS = (torch.ops.aten._local_scalar_dense.default, torch.ops.aten.item.default)

    def __init__(self) -> None:
        super().__init__()
        self.sites: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in self.READS:
            frame = [f for f in traceback.extract_stack()[:-1] if "/torch/" not in f.filename][-1]
            self.sites.append(f"{frame.filename}:{frame.lineno}")
        return func(*args, **(kwargs or {}))


class WatchSteps(Callback):
    """HostReads from each training batch's start to the next one's (the module's own
    on_train_batch_end, max-norm, runs after the callbacks'), and over each validation batch."""

    def __init__(self) -> None:
        self.reads, self.steps, self._on = HostReads(), 0, False

    def _start(self) -> None:
        if not self._on:
            self.reads.__enter__()
            self._on = True

    def _stop(self) -> None:
        if self._on:
            self.reads.__exit__(None, None, None)
            self._on = False

    def on_train_batch_start(self, *args) -> None:
        self._stop()
        self.steps += 1
        self._start()

    def on_train_epoch_end(self, *args) -> None:  # before the module logs its epoch metrics
        self._stop()

    def on_validation_batch_start(self, *args) -> None:
        self._stop()  # the epoch's last training step ends where validation begins
        self._start()

    def on_validation_batch_end(self, *args) -> None:
        self._stop()


def test_training_and_validation_steps_never_read_device_values(tiny_data_dir, tmp_path) -> None:
    """The fast path: no host sync per step, with every per-step feature on (dropout, max-norm,
    L1/L2 penalties, EMA, onecycle schedule). Metrics are read once per epoch, outside the steps."""
    cfg = parse_train_config(
        [
            *tiny_train_args(tiny_data_dir, tmp_path, "no-sync"),
            "--model.input_dropout=0.1",
            "--model.max_norm=3",
            "--model.l1_penalty=1e-5",
            "--model.l2_penalty=1e-5",
            "--optimizer.ema_decay=0.99",
            "--scheduler.name=onecycle",
        ]
    )
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    module = build_model(cfg, datamodule)
    watch = WatchSteps()
    trainer = build_trainer(cfg, None, tmp_path / "ckpt", [watch])
    trainer.fit(module, datamodule=datamodule)
    assert watch.steps == 2 * 10  # 1,000 training images, batch 100, 2 epochs
    assert watch.reads.sites == []
