"""Test helpers: a small learnable synthetic dataset and the words of a fast training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TRAIN_SIZE, TEST_SIZE, VAL_SIZE = 1200, 300, 200


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ten classes, each a fixed random 28x28 template plus noise: learnable in a few steps."""
    templates = np.random.default_rng(1234).integers(0, 256, size=(10, 784))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    noise = rng.normal(0, 40, size=(n, 784))
    pixels = np.clip(templates[labels] + noise, 0, 255).astype(np.uint8)
    return pixels, labels.astype(np.int64)


def tiny_train_args(data_dir: Path, tmp_path: Path, experiment: str) -> list[str]:
    """Command-line words for a fast CPU run on the synthetic set."""
    return [
        f"--data.data_dir={data_dir}",
        f"--data.val_size={VAL_SIZE}",
        "--data.batch_size=100",
        "--model.hidden_dims=[32]",
        "--trainer.max_epochs=2",
        "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false",
        f"--checkpoint_dir={tmp_path / 'checkpoints'}",
        f"--mlflow.experiment_name={experiment}",
    ]
