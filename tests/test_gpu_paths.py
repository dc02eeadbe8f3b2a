"""GPU code paths. What needs CUDA skips cleanly on CPU-only machines; the rest runs everywhere."""

from __future__ import annotations

import pytest
import torch

from src.build import build_datamodule, build_model, build_trainer
from src.cli import parse_train_config
from src.train import run_training
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
