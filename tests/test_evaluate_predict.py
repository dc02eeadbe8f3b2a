"""Using a trained model: the registry's champion, `src.evaluate` and `src.predict`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from src import evaluate, predict
from src.data.sources import load_dataset
from src.inference import images
from src.runtime.main import run_main
from tests.helpers import tiny_train_args

REGISTERED = "digits"


@pytest.fixture(scope="module")
def trained(tiny_data_dir, mlflow_store, tmp_path_factory):
    """Two runs registered under one name: a good one (version 1), then a bad one (version 2)."""
    from mlflow.tracking import MlflowClient

    from src.config.parsing import parse_train_config
    from src.training.run import run_training

    base = tiny_train_args(tiny_data_dir, tmp_path_factory.mktemp("ckpt"), "using")
    base.append(f"--mlflow.register_model={REGISTERED}")
    crippled = ["--trainer.max_epochs=1", "--trainer.limit_train_batches=1", "--optimizer.lr=1e-6"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", mlflow_store)
        good = run_training(parse_train_config(base))
        bad = run_training(parse_train_config([*base, *crippled]))
    assert good.test_metrics["test/acc"] > bad.test_metrics["test/acc"]
    return {"good": good, "bad": bad, "client": MlflowClient(mlflow_store)}


@pytest.fixture
def store(trained, mlflow_store, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store)
    return trained


def run_cli(main, argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        run_main(main, argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def evaluate_json(argv: list[str], capsys) -> dict:
    code, out, err = run_cli(evaluate.main, [*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def assert_same_metrics(found: dict, logged: dict) -> None:
    for key in ("test/acc", "test/f1", "test/loss"):
        assert found[key] == pytest.approx(logged[key], abs=1e-5), key


# ---------------------------------------------------------------- registry


def test_champion_alias_points_at_the_best_version_not_the_newest(store) -> None:
    client = store["client"]
    champion = client.get_model_version_by_alias(REGISTERED, "champion")
    assert champion.run_id == store["good"].run_id
    newest = max(int(v.version) for v in client.search_model_versions(f"name = '{REGISTERED}'"))
    assert int(champion.version) < newest


def test_registered_version_is_tagged_on_its_run(store) -> None:
    tags = store["client"].get_run(store["bad"].run_id).data.tags
    assert tags["registered_model"].startswith(f"{REGISTERED}/")


def test_champion_is_chosen_on_validation_not_on_the_test_set(tmp_path) -> None:
    """Two versions whose val and test rankings disagree, and one trained without validation."""
    from mlflow.tracking import MlflowClient

    from src.tracking import registry, store

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = store.ensure_experiment(client, "ranking")
    client.create_registered_model("ranked")
    scores = {"best-val": (0.97, 0.90), "best-test": (0.95, 0.99), "refit": (None, 0.995)}
    versions = {}
    for label, (val_best, test_acc) in scores.items():
        run_id = client.create_run(experiment, run_name=label).info.run_id
        if val_best is not None:
            client.log_metric(run_id, "val/acc_best", val_best)
        client.log_metric(run_id, "test/acc", test_acc)
        client.set_terminated(run_id)
        source = tmp_path / label
        source.mkdir()
        versions[label] = client.create_model_version("ranked", str(source), run_id).version
    assert registry.promote_best(client, "ranked") == str(versions["best-val"])
    assert client.get_model_version_by_alias("ranked", "champion").version == versions["best-val"]


# ---------------------------------------------------------------- evaluate


def test_evaluate_by_run_id_reproduces_the_logged_test_metrics(store, capsys) -> None:
    good = store["good"]
    found = evaluate_json(["--run-id", good.run_id], capsys)
    assert_same_metrics(found, good.test_metrics)
    assert found["images"] == 300 and found["run_id"] == good.run_id


def test_evaluate_champion_alias_uri(store, capsys) -> None:
    found = evaluate_json(["--model-uri", f"models:/{REGISTERED}@champion"], capsys)
    assert_same_metrics(found, store["good"].test_metrics)


def test_evaluate_checkpoint_reproduces_the_logged_test_metrics(store, capsys) -> None:
    good = store["good"]
    found = evaluate_json(["--checkpoint", good.best_checkpoint], capsys)
    assert_same_metrics(found, good.test_metrics)


def test_evaluate_prints_a_table_with_the_run_logged_values(store, capsys) -> None:
    code, out, _ = run_cli(evaluate.main, ["--run-id", store["good"].run_id], capsys)
    assert code == 0
    assert "test/acc" in out and "logged by the run" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        ([], 2, "give exactly one of --run-id, --model-uri, --checkpoint"),
        (["--run-id", "a", "--checkpoint", "b.ckpt"], 2, "give exactly one of"),
        (["--run-id", "0" * 32], 2, "cannot load model"),
        (["--model-uri", "models:/no-such-model@champion"], 2, "cannot load model"),
        (["--checkpoint", "missing.ckpt"], 1, "missing.ckpt does not exist"),
        (["--bogus"], 2, "bogus"),
    ],
)
def test_evaluate_bad_input_is_one_line_without_traceback(
    store, capsys, argv, code, message
) -> None:
    found_code, _, err = run_cli(evaluate.main, argv, capsys)
    assert found_code == code
    assert message in err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_evaluate_rejects_a_file_that_is_not_a_checkpoint(store, tmp_path, capsys) -> None:
    path = tmp_path / "junk.ckpt"
    path.write_bytes(b"not a checkpoint")
    code, _, err = run_cli(evaluate.main, ["--checkpoint", str(path)], capsys)
    assert code == 2 and "not a readable checkpoint" in err


# ---------------------------------------------------------------- predict


@pytest.fixture
def test_images(tiny_data_dir) -> tuple[np.ndarray, np.ndarray]:
    data = load_dataset("mnist", tiny_data_dir, allow_download=False)
    return data.test_x[:6], data.test_y[:6]


def model_predictions(store, pixels: np.ndarray) -> list[int]:
    from src.inference.loading import load_model

    model = load_model(run_id=store["good"].run_id)
    return model.scores(pixels).argmax(-1).tolist()


def test_predict_png_files_and_npy_arrays(store, test_images, tmp_path, capsys) -> None:
    pixels, _ = test_images
    paths = []
    for i, image in enumerate(pixels[:3]):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray(image.reshape(28, 28)).save(paths[-1])
    np.save(tmp_path / "batch.npy", pixels[3:].reshape(3, 28, 28))
    argv = ["--run-id", store["good"].run_id, "--invert", "no", "--json"]
    inputs = [*map(str, paths), str(tmp_path / "batch.npy")]
    code, out, err = run_cli(predict.main, [*argv, *inputs], capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["input"] for row in rows[3:]] == [
        f"{tmp_path / 'batch.npy'}[{i}]" for i in range(3)
    ]
    assert [int(row["label"]) for row in rows] == model_predictions(store, pixels)
    for row in rows:
        assert sum(row["probabilities"].values()) == pytest.approx(1, abs=1e-4)
        assert row["probabilities"][row["label"]] == max(row["probabilities"].values())


def test_predict_table_shows_label_and_probabilities(
    store, test_images, tmp_path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    np.save("one.npy", test_images[0][0])
    code, out, _ = run_cli(predict.main, ["--run-id", store["good"].run_id, "one.npy"], capsys)
    assert code == 0
    label = str(model_predictions(store, test_images[0][:1])[0])
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
    store, tmp_path, capsys, content, suffix, code, message
) -> None:
    path = tmp_path / f"input{suffix}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        np.save(path, content)
    found_code, _, err = run_cli(
        predict.main, ["--run-id", store["good"].run_id, str(path)], capsys
    )
    assert found_code == code, err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_predict_needs_a_model_source(tmp_path, capsys) -> None:
    np.save(tmp_path / "x.npy", np.zeros((1, 784)))
    code, _, err = run_cli(predict.main, [str(tmp_path / "x.npy")], capsys)
    assert code == 2 and "give exactly one of" in err


def test_checkpoint_loading_needs_no_pickle(store) -> None:
    """weights_only=True: the checkpoint is read as tensors and plain containers."""
    import torch

    checkpoint = torch.load(Path(store["good"].best_checkpoint), weights_only=True)
    assert checkpoint["train_config"]["model"]["hidden_dims"] == [32]
