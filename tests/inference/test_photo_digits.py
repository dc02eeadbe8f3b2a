"""Digits from photos: `src.predict` prepares a photo as the MNIST database prepared its digits
(paper removed, the ink's box scaled to fit 20x20, centred on its centre of mass in 28x28), and
every bad image is an error that names its file.

The photos are made here: a digit as dark ink on an off-white, non-square page, upscaled, offset,
lit unevenly, blurred a little, with sensor noise, saved as JPEG; or the same with the digit a
third of the page wide, anywhere on it. The accuracy test makes them from real MNIST test digits.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from src import predict
from src.inference import images, mnist_form
from tests.helpers import ROOT, real_mnist_words, run_in_process


def photo(
    digit: np.ndarray,
    rng: np.random.Generator,
    *,
    page_fraction: float | None = None,
    dark_page: bool = False,
    falloff: float = 0.06,
) -> Image.Image:
    """A photo of a 28x28 MNIST-form digit (light on black). page_fraction None: a close-up, the
    digit's field most of the page; else the digit's 20-pixel box that fraction of the page
    wide. dark_page: light chalk on a dark board instead of dark ink on paper. falloff: how
    much the light changes across the page."""
    digit = np.asarray(digit, np.uint8).reshape(28, 28)
    if page_fraction is None:
        side = round(28 * rng.uniform(5, 9))
        height, width = (round(side * rng.uniform(1.1, 1.5)) for _ in range(2))
        if abs(height - width) < side // 10:  # never square
            width += side // 5
    else:
        width = round(rng.uniform(360, 480))
        height = round(width * rng.uniform(1.2, 1.45))
        side = round(28 * width * page_fraction / 20)
    big = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (width, height), 0)  # the ink, 0-255, where it lies on the page
    canvas.paste(big, (int(rng.integers(0, width - side)), int(rng.integers(0, height - side))))
    ink = np.asarray(canvas, np.float32) / 255
    paper, pen = (rng.uniform(25, 60), rng.uniform(190, 235)) if dark_page else (
        rng.uniform(200, 240),
        rng.uniform(20, 70),
    )  # fmt: skip
    y, x = np.mgrid[0:height, 0:width]
    light = 1 + falloff * (rng.uniform(-1, 1) * (x / width - 0.5) + rng.uniform(-1, 1) * y / height)
    gray = (paper + (pen - paper) * ink) * light
    tint = np.array([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.88, 0.96)])  # yellowish paper
    rgb = Image.fromarray(np.clip(gray[..., None] * tint, 0, 255).astype(np.uint8))
    rgb = rgb.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5) * side / 140))
    noise = rng.normal(0, rng.uniform(3, 8), (height, width, 1))
    return Image.fromarray(np.clip(np.asarray(rgb) + noise, 0, 255).astype(np.uint8))


def save_jpeg(image: Image.Image, path: Path, rng: np.random.Generator) -> Path:
    image.save(path, quality=int(rng.integers(70, 92)))
    return path


def drawn_seven() -> np.ndarray:
    """A 7 in MNIST's form (light on black, 20 pixels tall, centred by mass in 28x28), for the
    tests that need no real data."""
    canvas = Image.new("L", (120, 120), 0)
    ImageDraw.Draw(canvas).line([(20, 10), (95, 10), (50, 110)], fill=255, width=12)
    return mnist_form.centre_digit(np.asarray(canvas, np.float32) / 255).round().astype(np.uint8)


def ink_box(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(image)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    y, x = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    mass = image.astype(float).sum()
    return (y * image).sum() / mass, (x * image).sum() / mass


@pytest.fixture(scope="module")
def untrained_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint as src.train writes one, of a network that was never trained: for commands
    whose output, not accuracy, is tested."""
    import torch

    from src.config.parsing import parse_train_config
    from src.training.build import build_net

    cfg = parse_train_config(["--model.hidden_dims=[16]"])
    state = {f"net.{k}": v for k, v in build_net(cfg).state_dict().items()}
    path = tmp_path_factory.mktemp("untrained") / "best.ckpt"
    torch.save({"train_config": dataclasses.asdict(cfg), "state_dict": state}, path)
    return path


# ---------------------------------------------------------------- MNIST's normalisation


def test_an_off_centre_blob_ends_with_its_centre_of_mass_at_the_centre(tmp_path) -> None:
    # A heavy disc with a thin tail, near a corner of the page: its centre of mass is far from
    # the middle of its bounding box, so only centring by mass puts the disc where MNIST would.
    page = Image.new("L", (360, 240), 235)
    draw = ImageDraw.Draw(page)
    draw.ellipse((20, 20, 80, 80), fill=30)
    draw.line([(50, 50), (50, 140)], fill=30, width=6)
    page.save(tmp_path / "blob.png")
    digit = images.read_image(tmp_path / "blob.png").astype(float)
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    rows = np.nonzero(digit.any(1))[0]
    assert (rows.min() + rows.max()) / 2 - 14 > 1.5  # the box itself is not centred
    assert ink_box(digit)[0] == 20


@pytest.mark.parametrize(("size", "expected"), [((16, 200), (20, 2)), ((200, 16), (2, 20))])
def test_a_thin_stroke_keeps_its_aspect_ratio_and_fits_20_pixels(tmp_path, size, expected):
    width, height = size
    page = Image.new("L", (300, 400), 230)
    ImageDraw.Draw(page).rectangle((40, 60, 40 + width - 1, 60 + height - 1), fill=20)
    page.save(tmp_path / "stroke.png")
    digit = images.read_image(tmp_path / "stroke.png")
    tall, wide = ink_box(digit)
    assert max(tall, wide) == 20
    assert abs(tall - expected[0]) <= 1 and abs(wide - expected[1]) <= 1
    assert digit.max() == 255


@pytest.mark.parametrize("dark_page", [False, True], ids=["dark-ink-on-paper", "chalk-on-board"])
def test_the_background_is_removed_on_light_and_dark_pages(tmp_path, dark_page) -> None:
    seven = drawn_seven()
    rng = np.random.default_rng(7)
    path = save_jpeg(photo(seven, rng, dark_page=dark_page, falloff=0.2), tmp_path / "p.jpg", rng)
    digit = images.read_image(path)  # --invert auto
    assert digit.max() == 255
    assert (digit[seven == 0] == 0).mean() > 0.95  # the paper is 0, not merely dark
    assert np.corrcoef(digit.ravel(), seven.ravel())[0, 1] > 0.85  # and the ink is the 7


def test_auto_judges_polarity_from_the_page_not_its_border(tmp_path) -> None:
    """A sheet photographed on a dark table: the border is dark, yet the ink is darker still."""
    seven = drawn_seven()
    rng = np.random.default_rng(3)
    sheet = photo(seven, rng).convert("L")
    table = Image.new("L", (round(sheet.width * 1.2), round(sheet.height * 1.2)), 50)
    table.paste(sheet, (sheet.width // 10, sheet.height // 10))
    table.save(tmp_path / "on-table.png")
    digit = images.read_image(tmp_path / "on-table.png")
    assert np.corrcoef(digit.ravel(), seven.ravel())[0, 1] > 0.85


def test_invert_always_and_never_decide_polarity_and_yes_no_still_work(tmp_path) -> None:
    rng = np.random.default_rng(5)
    path = save_jpeg(photo(drawn_seven(), rng), tmp_path / "p.jpg", rng)
    auto = images.read_image(path, "auto")
    assert np.array_equal(images.read_image(path, "always"), auto)
    assert np.array_equal(images.read_image(path, "yes"), auto)
    assert images.invert_mode("no") == images.invert_mode("never") == "never"
    square = np.zeros((28, 28), np.float32)
    square[8:20, 12:16] = 255
    assert np.array_equal(images.maybe_invert(square, "always"), 255 - square)
    assert np.array_equal(images.maybe_invert(255 - square, "never"), 255 - square)


def test_arrays_and_28x28_images_are_used_as_they_are(tmp_path) -> None:
    corner = np.zeros((28, 28), np.uint8)  # off-centre on purpose: no re-centring
    corner[2:10, 3:6] = 200
    np.save(tmp_path / "a.npy", corner)
    Image.fromarray(corner).save(tmp_path / "b.png")
    _, found = images.load_inputs([str(tmp_path / "a.npy"), str(tmp_path / "b.png")], "auto")
    assert np.array_equal(found[0], corner) and np.array_equal(found[1], corner)


def test_show_preprocessed_saves_what_the_network_saw(untrained_checkpoint, tmp_path, capsys):
    rng = np.random.default_rng(11)
    jpeg = save_jpeg(photo(drawn_seven(), rng), tmp_path / "seven.jpg", rng)
    np.save(tmp_path / "batch.npy", np.stack([drawn_seven(), drawn_seven().T]))
    seen = tmp_path / "seen"
    argv = ["--checkpoint", str(untrained_checkpoint), "--show-preprocessed", str(seen), "--json"]
    code, _, err = run_in_process(
        predict.main, [*argv, str(jpeg), str(tmp_path / "batch.npy")], capsys
    )
    assert code == 0, err
    assert str(seen) in err
    assert sorted(p.name for p in seen.iterdir()) == ["batch-0.png", "batch-1.png", "seven.png"]
    _, network_input = images.load_inputs([str(jpeg)], "auto")
    saved = np.asarray(Image.open(seen / "seven.png"))
    assert saved.shape == (224, 224)
    assert np.array_equal(saved[::8, ::8], network_input[0].astype(np.uint8))


# ---------------------------------------------------------------- errors name their file


def predict_error(words: list[str], checkpoint: Path, capsys) -> tuple[int, str]:
    code, _, err = run_in_process(predict.main, ["--checkpoint", str(checkpoint), *words], capsys)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return code, err


@pytest.mark.parametrize("noisy", [False, True], ids=["clean-white", "noisy-jpeg"])
def test_a_blank_page_is_one_line_no_ink_found(untrained_checkpoint, tmp_path, capsys, noisy):
    rng = np.random.default_rng(1)
    page = np.full((300, 220), 228.0) + (rng.normal(0, 6, (300, 220)) if noisy else 0)
    path = tmp_path / ("blank.jpg" if noisy else "blank.png")
    Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).save(path)
    code, err = predict_error([str(path)], untrained_checkpoint, capsys)
    assert code == 2 and "no ink found" in err and str(path) in err


def test_a_decompression_bomb_is_refused_naming_the_file(
    untrained_checkpoint, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow errs above twice this
    Image.new("L", (100, 100), 255).save(tmp_path / "bomb.png")
    code, err = predict_error([str(tmp_path / "bomb.png")], untrained_checkpoint, capsys)
    assert code == 2 and "decompression bomb" in err and str(tmp_path / "bomb.png") in err


def test_a_decompression_bomb_warning_names_the_file_as_warning_or_error(
    untrained_checkpoint, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow warns between 1x and 2x
    page = Image.new("L", (40, 40), 230)
    ImageDraw.Draw(page).line([(20, 5), (20, 35)], fill=20, width=4)
    page.save(tmp_path / "big.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # python -W error
        code, err = predict_error([str(tmp_path / "big.png")], untrained_checkpoint, capsys)
    assert code == 2 and "decompression bomb" in err and str(tmp_path / "big.png") in err
    with warnings.catch_warnings():
        warnings.simplefilter("default", Image.DecompressionBombWarning)
        code, _, err = run_in_process(
            predict.main,
            ["--checkpoint", str(untrained_checkpoint), str(tmp_path / "big.png")],
            capsys,
        )
    assert code == 0, err
    assert f"warning: {tmp_path / 'big.png'}: Image size (1600 pixels)" in err


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_truncated_image_names_the_file(untrained_checkpoint, tmp_path, capsys, suffix) -> None:
    rng = np.random.default_rng(2)
    whole = save_jpeg(photo(drawn_seven(), rng), tmp_path / "whole.jpg", rng)
    path = tmp_path / f"cut{suffix}"
    Image.open(whole).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    code, err = predict_error([str(path)], untrained_checkpoint, capsys)
    assert code == 2 and f"{path}: not a readable image" in err and "truncated" in err


def test_a_folder_given_as_an_image_names_it(untrained_checkpoint, tmp_path, capsys) -> None:
    folder = tmp_path / "digits.png"
    folder.mkdir()
    code, err = predict_error([str(folder)], untrained_checkpoint, capsys)
    assert code == 2 and f"{folder} is a folder" in err


# ---------------------------------------------------------------- a run without a model


@pytest.mark.parametrize("how", ["--run-id", "--model-uri"])
def test_a_run_without_a_logged_model_says_so_and_names_its_checkpoint(
    untrained_checkpoint, mlflow_store, tmp_path, capsys, how
) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_store)
    found = client.get_experiment_by_name("no-model")
    experiment = found.experiment_id if found else client.create_experiment("no-model")
    run_id = client.create_run(experiment).info.run_id
    client.log_param(run_id, "checkpoint_dir", str(tmp_path / "checkpoints"))
    client.log_param(run_id, "mlflow.experiment_name", "no-model")
    client.log_param(run_id, "mlflow.log_model", "False")
    client.set_terminated(run_id)
    checkpoint = tmp_path / "checkpoints" / "no-model" / run_id / "best.ckpt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(untrained_checkpoint.read_bytes())
    source = run_id if how == "--run-id" else f"runs:/{run_id}/model"
    np.save(tmp_path / "x.npy", drawn_seven())
    words = [how, source, "--tracking-uri", mlflow_store, str(tmp_path / "x.npy")]
    code, _, err = run_in_process(predict.main, words, capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"run {run_id} has no logged model" in err and "mlflow.log_model" in err
    assert f"--checkpoint {checkpoint}" in err and "MLmodel" not in err


# ---------------------------------------------------------------- the goal, on real digits


@pytest.mark.slow
@pytest.mark.real_data
def test_photos_of_real_test_digits_read_as_well_as_the_raw_digits(tmp_path, mlflow_store):
    """The default model, trained 3 epochs: on 200 real test digits photographed (close-up, and
    a third of the page wide anywhere on it), accuracy >= 95% and within 3 points of the same
    digits given as 28x28 arrays."""
    from src.config.parsing import parse_train_config
    from src.data.sources import load_dataset
    from src.inference.loading import load_model
    from src.training.run import run_training

    data_dir = ROOT / "data"
    words = real_mnist_words(tmp_path / "checkpoints", "photo-digits", epochs=3)
    cfg = parse_train_config([*words, f"--mlflow.tracking_uri={mlflow_store}"])
    model = load_model(checkpoint=run_training(cfg).best_checkpoint)
    test = load_dataset("mnist", data_dir, allow_download=False)
    digits, labels = test.test_x[:200], test.test_y[:200]
    raw = (model.scores(digits.astype(np.float32)).argmax(-1).numpy() == labels).mean()
    for kind, fraction in (("close-up", None), ("page", 1 / 3)):
        rng = np.random.default_rng(0)
        paths = [
            str(save_jpeg(photo(d, rng, page_fraction=fraction), tmp_path / f"{kind}{i}.jpg", rng))
            for i, d in enumerate(digits)
        ]
        _, seen = images.load_inputs(paths, "auto")
        accuracy = (model.scores(seen).argmax(-1).numpy() == labels).mean()
        assert accuracy >= 0.95 and accuracy >= raw - 0.03, (kind, accuracy, raw)
