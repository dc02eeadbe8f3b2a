"""`mlflow models serve` with a logged model answers real HTTP requests like the model in process.

`--env-manager local`: the default would build a virtualenv with pip, which needs the internet.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from src.data.cache import cache_path
from src.data.sources import load_dataset
from tests.helpers import ROOT, free_port, local_server, tiny_train_args

STARTUP_TIMEOUT_S = 180


@contextlib.contextmanager
def served(model_uri: str, tracking_uri: str, workdir: Path) -> Iterator[str]:
    """`mlflow models serve` on a free local port; yields its base URL, stops it afterwards."""
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    # The server execs `uvicorn`: make this interpreter's scripts findable without an activate.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = workdir / "serve.log"
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    with local_server(command, url, "/ping", log, STARTUP_TIMEOUT_S, cwd=workdir, env=env):
        yield url


def post_images(url: str, pixels: np.ndarray) -> np.ndarray:
    """POST /invocations {"inputs": [[784 pixel values 0-255], ...]}: class scores back."""
    body = json.dumps({"inputs": pixels.astype(float).tolist()}).encode()
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return np.asarray(json.loads(response.read())["predictions"])


def train_and_log(args: list[str], tracking_uri: str):
    from src.config.parsing import parse_train_config
    from src.inference.loading import load_model
    from src.training.run import run_training

    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        result = run_training(parse_train_config(args))
        model = load_model(model_uri=result.model_uri)
    return result, model


@pytest.mark.slow  # a server: `mlflow models serve` starts in ~10 s
def test_served_model_predicts_like_the_model_in_process(
    tiny_data_dir, mlflow_store, tmp_path
) -> None:
    result, model = train_and_log(tiny_train_args(tiny_data_dir, tmp_path, "serve"), mlflow_store)
    pixels = load_dataset("mnist", tiny_data_dir, allow_download=False).test_x[:32]
    expected = model.scores(pixels).numpy()
    with served(result.model_uri, mlflow_store, tmp_path) as url:
        scores = post_images(url, pixels)
        single = post_images(url, pixels[:1])  # the batch dimension is dynamic, 1 included
    assert scores.shape == (32, 10)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
    assert scores.argmax(1).tolist() == expected.argmax(1).tolist()
    np.testing.assert_allclose(single, expected[:1], rtol=1e-4, atol=1e-4)


@pytest.mark.real_data
@pytest.mark.slow
def test_served_model_reads_real_mnist_digits(mlflow_store, tmp_path) -> None:
    data_dir = ROOT / "data"
    if not cache_path("mnist", data_dir).is_file():
        pytest.skip("real MNIST not fetched (python -m src.data fetch, as .ci/run does)")
    args = [
        f"--data.data_dir={data_dir}",
        "--model.hidden_dims=[64]",
        "--trainer.max_epochs=1",
        "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false",
        f"--checkpoint_dir={tmp_path / 'checkpoints'}",
        "--mlflow.experiment_name=serve-real",
    ]
    result, _ = train_and_log(args, mlflow_store)
    test = load_dataset("mnist", data_dir, allow_download=False)
    with served(result.model_uri, mlflow_store, tmp_path) as url:
        scores = post_images(url, test.test_x[:200])
    assert (scores.argmax(1) == test.test_y[:200]).mean() >= 0.9
