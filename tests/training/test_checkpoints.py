"""Checkpoints: resuming from last.ckpt continues the same run; the files, written by a thread,
hold the weights of the moment they were saved; checkpoints load with weights_only, and one that
would run code is refused."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from mlflow import MlflowClient

from src.config.parsing import parse_train_config
from src.errors import UsageError
from src.training.checkpoints import resolve_resume
from src.training.run import run_training
from tests.helpers import tiny_train_args, train_tiny


def test_resume_from_last_checkpoint_continues_the_same_run(
    tiny_data_dir, tmp_path, tracking_env
) -> None:
    first = train_tiny(tiny_data_dir, tmp_path, "resume", "--trainer.max_epochs=1")
    assert (Path(first.checkpoint_dir) / "last.ckpt").is_file()
    resumed = train_tiny(
        tiny_data_dir, tmp_path, "resume", "--ckpt_path=last", "--trainer.max_epochs=3"
    )
    assert resumed.run_id == first.run_id
    history = MlflowClient().get_metric_history(first.run_id, "val/acc")
    assert sorted(m.step for m in history) == [0, 1, 2]
    assert MlflowClient().get_run(first.run_id).info.status == "FINISHED"


class WeightsAtSave(Callback):
    """The weights each checkpoint was saved with, by epoch, copied when Lightning saves."""

    def __init__(self) -> None:
        self.by_epoch: dict[int, dict[str, torch.Tensor]] = {}

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        weights = {k: v.detach().clone() for k, v in checkpoint["state_dict"].items()}
        self.by_epoch[checkpoint["epoch"]] = weights


def test_checkpoints_hold_the_weights_of_the_epoch_that_saved_them(
    tiny_data_dir, tmp_path, tracking_env
) -> None:
    # The files are written by a thread while training goes on (SerialCheckpointIO): training
    # must not change the tensors being written, and the fit must wait for the last write.
    # On the synthetic digits val/acc reaches 1.0 within two epochs and cannot rise after: the
    # best epoch is early, and last.ckpt must still be the final epoch's (Lightning 2.6's
    # `save_last=True` left it at the best epoch).
    saved = WeightsAtSave()
    words = ["--trainer.max_epochs=6", "--early_stopping.enabled=false"]
    cfg = parse_train_config([*tiny_train_args(tiny_data_dir, tmp_path, "async"), *words])
    result = run_training(cfg, run_test=False, extra_callbacks=[saved])
    folder = Path(result.checkpoint_dir)
    files = {n: torch.load(folder / f"{n}.ckpt", weights_only=True) for n in ("best", "last")}
    assert files["last"]["epoch"] == 5  # epochs count from 0
    assert files["best"]["epoch"] < 5
    for checkpoint in files.values():
        expected = saved.by_epoch[checkpoint["epoch"]]
        assert checkpoint["state_dict"].keys() == expected.keys()
        for key, weights in checkpoint["state_dict"].items():
            assert torch.equal(weights, expected[key]), key


def test_checkpoints_load_with_weights_only(tiny_data_dir, tmp_path, tracking_env) -> None:
    cfg = parse_train_config(
        [
            *tiny_train_args(tiny_data_dir, tmp_path, "weights-only"),
            "--trainer.max_epochs=1",
            "--mlflow.log_model=false",
        ]
    )
    result = run_training(cfg)
    for name in ("last.ckpt", "best.ckpt"):
        checkpoint = torch.load(
            Path(result.checkpoint_dir) / name, map_location="cpu", weights_only=True
        )
        assert checkpoint["train_config"] == dataclasses.asdict(cfg)


class RunsCode:
    """What a malicious checkpoint holds: unpickling it calls os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path) -> None:
    marker = tmp_path / "code-ran"
    folder = tmp_path / "checkpoints" / "exp" / "0123456789abcdef"
    folder.mkdir(parents=True)
    torch.save({"state_dict": {}, "payload": RunsCode(marker)}, folder / "last.ckpt")
    cfg = parse_train_config([f"--checkpoint_dir={tmp_path / 'checkpoints'}"])
    cfg = dataclasses.replace(cfg, ckpt_path=str(folder / "last.ckpt"))

    with pytest.raises(UsageError, match="not a readable checkpoint"):
        resolve_resume(cfg)
    assert not marker.exists()
