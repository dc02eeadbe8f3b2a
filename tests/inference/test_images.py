"""`src.predict`: images of any size and .npy arrays in, a label and probabilities out."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from src import predict
from src.data.sources import load_dataset
from src.inference import images
from tests.helpers import run_in_process


@pytest.fixture
def test_images(tiny_data_dir) -> tuple[np.ndarray, np.ndarray]:
    data = load_dataset("mnist", tiny_data_dir, allow_download=False)
    return data.test_x[:6], data.test_y[:6]


def model_predictions(registered, pixels: np.ndarray) -> list[int]:
    from src.inference.loading import load_model

    model = load_model(run_id=registered["good"].run_id)
    return model.scores(pixels).argmax(-1).tolist()


def test_predict_png_files_and_npy_arrays(registered, test_images, tmp_path, capsys) -> None:
    pixels, _ = test_images
    paths = []
    for i, image in enumerate(pixels[:3]):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray(image.reshape(28, 28)).save(paths[-1])
    np.save(tmp_path / "batch.npy", pixels[3:].reshape(3, 28, 28))
    argv = ["--run-id", registered["good"].run_id, "--invert", "no", "--json"]
    inputs = [*map(str, paths), str(tmp_path / "batch.npy")]
    code, out, err = run_in_process(predict.main, [*argv, *inputs], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["input"] for row in rows[3:]] == [
        f"{tmp_path / 'batch.npy'}[{i}]" for i in range(3)
    ]
    assert [int(row["label"]) for row in rows] == model_predictions(registered, pixels)
    for row in rows:
        assert sum(row["probabilities"].values()) == pytest.approx(1, abs=1e-4)
        assert row["probabilities"][row["label"]] == max(row["probabilities"].values())


def test_predict_table_shows_label_and_probabilities(
    registered, test_images, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    np.save("one.npy", test_images[0][0])
    run_id = registered["good"].run_id
    code, out, _ = run_in_process(predict.main, ["--run-id", run_id, "one.npy"], capsys)
    assert code == 0
    label = str(model_predictions(registered, test_images[0][:1])[0])
    row = next(line for line in out.splitlines() if "one.npy[0]" in line)
    assert row.split("│")[2].strip() == label
    assert "probability" in out and "next most likely" in out


def test_any_size_jpeg_becomes_28x28_white_digit_on_black(tmp_path) -> None:
    # Dark ink on white paper, not square: a 40x60 photo of a vertical stroke.
    photo = np.full((60, 40), 250, np.uint8)
    photo[10:50, 17:23] = 10
    Image.fromarray(photo).save(tmp_path / "photo.jpg", quality=95)
    image = images.read_image(tmp_path / "photo.jpg")
    assert image.shape == (28, 28) and image.dtype == np.uint8
    inverted = images.maybe_invert(image.astype(np.float32), "auto")
    assert images.border(inverted).mean() < 20  # background now dark
    assert inverted[14, 14] > 200  # the stroke, kept centred, now bright


def test_invert_auto_leaves_mnist_style_images_alone() -> None:
    image = np.zeros((28, 28), np.float32)
    image[8:20, 12:16] = 255
    assert np.array_equal(images.maybe_invert(image, "auto"), image)
    assert np.array_equal(images.maybe_invert(image, "yes"), 255 - image)


@pytest.mark.parametrize(
    ("content", "suffix", "code", "message"),
    [
        (None, ".png", 1, "does not exist"),
        (b"not an image", ".png", 2, "not a readable image"),
        (np.zeros((2, 5)), ".npy", 2, "expected (n, 784) or (n, 28, 28)"),
        (np.full((1, 784), 300.0), ".npy", 2, "values outside 0-255"),
        (b"x", ".txt", 2, "unsupported file type"),
    ],
)
def test_predict_bad_input_is_one_line_without_traceback(
    registered, tmp_path, capsys, content, suffix, code, message
) -> None:
    path = tmp_path / f"input{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        np.save(path, content)
    found_code, _, err = run_in_process(
        predict.main, ["--run-id", registered["good"].run_id, str(path)], capsys
    )
    assert found_code == code, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
