"""What a run logs besides metrics: the model, served through pyfunc from raw pixels."""

from __future__ import annotations

import mlflow
import numpy as np

from tests.helpers import synthetic_digits, train_tiny


def test_logged_model_predicts_raw_pixels_through_pyfunc(
    tiny_data_dir, tmp_path, tracking_env
) -> None:
    result = train_tiny(tiny_data_dir, tmp_path, "pyfunc")
    model = mlflow.pyfunc.load_model(result.model_uri)
    pixels, labels = synthetic_digits(64, seed=7)
    scores = np.asarray(model.predict(pixels.astype(np.float32)))
    assert scores.shape == (64, 10)
    assert (scores.argmax(1) == labels).mean() > 0.8
