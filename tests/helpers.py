"""Test helpers: a small learnable synthetic dataset and the words of a fast training run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def local_server(
    command: list[str], url: str, health: str, log: Path, timeout_s: float, **popen
) -> Iterator[str]:
    """Start a server process, wait until GET url+health answers 200, yield url, then stop it
    with its whole process group (uvicorn/gunicorn workers are its children)."""
    with open(log, "wb") as out:
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen
        )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if server.poll() is not None:
                pytest.fail(f"{command[2]} exited {server.returncode}:\n{log.read_text()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}{health}", timeout=2) as response,
            ):
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"no answer from {url}{health} in {timeout_s} s:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
