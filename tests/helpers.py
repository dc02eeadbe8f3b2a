"""Test helpers: a small learnable synthetic dataset, the words of a fast training run, an entry
point run in-process or as a real process, small studies, local servers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SIZE, TEST_SIZE, VAL_SIZE = 1200, 300, 200
REGISTERED = "digits"  # the model name the session's registered_runs are registered under


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


def train_tiny(data_dir: Path, tmp_path: Path, experiment: str, *extra: str):
    """run_training on the synthetic set with tiny_train_args and extra words: its TrainResult."""
    from src.config.parsing import parse_train_config
    from src.training.run import run_training

    return run_training(
        parse_train_config([*tiny_train_args(data_dir, tmp_path, experiment), *extra])
    )


def run_in_process(
    main: Callable[[list[str]], int], words: list[str], capture: pytest.CaptureFixture
) -> tuple[int, str, str]:
    """An entry point's main through run_main, as `python -m` runs it: (exit code, stdout,
    stderr). run_main installs its signal handlers; the previous ones are put back."""
    from src.runtime.main import run_main

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    capture.readouterr()
    try:
        with pytest.raises(SystemExit) as stop:
            run_main(main, words)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    out, err = capture.readouterr()
    return stop.value.code, out, err


def run_process(
    entry: str, *words: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """`python -m entry words...` from the repository root, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", entry, *words],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_study(
    tmp_path: Path,
    data_dir: Path,
    store: str,
    name: str,
    epochs: int = 2,
    early_stopping: bool = True,
    **study: Any,
) -> Path:
    """A study config on the synthetic set: `epochs` epochs of a 32-unit MLP per trial (fewer when
    `early_stopping` ends it), its own journal file, MLflow experiment and best-config folder."""
    import yaml

    config = {
        "study_name": name,
        "storage": str(tmp_path / "journal.log"),
        "best_config_dir": str(tmp_path / "best"),
        "train": {
            "model": {"hidden_dims": [32]},
            "data": {"data_dir": str(data_dir), "val_size": VAL_SIZE, "batch_size": 100},
            "trainer": {"max_epochs": epochs, "accelerator": "cpu", "enable_progress_bar": False},
            "early_stopping": {"enabled": early_stopping},
            "mlflow": {
                "experiment_name": f"tune-{name}",
                "tracking_uri": store,
                "log_model": False,
            },
            "checkpoint_dir": str(tmp_path / "checkpoints"),
        },
        "sampler": {"name": "random", "seed": 0},
        "pruner": {"name": "none"},
        **study,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def load_study(path: Path):
    """The optuna.Study of a config written by write_study (journal storage)."""
    import optuna
    import yaml

    config = yaml.safe_load(path.read_text())
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(config["storage"])
    )
    return optuna.load_study(study_name=config["study_name"], storage=storage)


def runs_of(store: str, name: str, role: str) -> list:
    """The MLflow runs of study `name` tagged with this role (study, trial, retrain_best)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name(f"tune-{name}")
    if experiment is None:  # the study has not started yet
        return []
    return client.search_runs([experiment.experiment_id], f"tags.role = '{role}'")


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


def real_mnist_words(checkpoints: Path, experiment: str, epochs: int) -> list[str]:
    """Words for a quiet run of the default model on the real MNIST that .ci/run fetches into
    data/; skips the test when it is not there."""
    from src.data.cache import cache_path

    data_dir = ROOT / "data"
    if not cache_path("mnist", data_dir).is_file():
        pytest.skip("real MNIST not fetched (python -m src.data fetch, as .ci/run does)")
    return [
        f"--data.data_dir={data_dir}",
        f"--trainer.max_epochs={epochs}",
        "--trainer.enable_progress_bar=false",
        f"--checkpoint_dir={checkpoints}",
        f"--mlflow.experiment_name={experiment}",
        "--mlflow.log_model=false",
    ]
