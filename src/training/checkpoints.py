"""Checkpoints: finding the one to resume (`--ckpt_path last`, `--resume RUN_ID`), reading it
without running code from it, and refusing a resume whose config cannot fit its state; the
checkpoint folder is checked writable before a run opens."""

from __future__ import annotations

import dataclasses
import glob
import os
from pathlib import Path

from src.config.dotted import flatten
from src.config.train import TrainConfig
from src.errors import UsageError
from src.training import run_lock

RUN_ID_ENV = "SRC_TRAIN_RUN_ID"  # hands the MLflow run id to DDP worker processes
# Config keys that shape the state in a checkpoint: resuming with other values cannot work.
# For dropouts only zero versus non-zero matters (a Dropout layer shifts the layer indices).
RESUME_MUST_MATCH = (
    "model.hidden_dims",
    "model.activation",
    "model.batch_norm",
    "model.loss",
    "optimizer.name",
    "scheduler.name",
    "data.dataset",
)


def find_last_checkpoint(cfg: TrainConfig, chosen_run_id: str | None = None) -> Path:
    """`--ckpt_path last`: the newest last.ckpt among this experiment's runs that no live process
    is training. `chosen_run_id`: the run the main process chose (in a DDP worker, which must
    resume the same one, and sees it as busy)."""
    root = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name
    if chosen_run_id is not None:
        return root / chosen_run_id / "last.ckpt"
    found = sorted(root.glob("*/last.ckpt"), key=lambda p: p.stat().st_mtime)
    idle = [path for path in found if not run_lock.is_busy(path.parent)]
    if not idle:
        where = f"no last.ckpt under {root}/"
        if found:
            where = f"every run with a last.ckpt under {root}/ is still training"
        raise UsageError(f"ckpt_path=last: {where}; nothing to resume")
    return idle[-1]


def find_run_checkpoint(checkpoint_dir: str, run_id: str) -> Path:
    """`--resume RUN_ID`: that run's last.ckpt (run ids are unique across experiments)."""
    found = sorted(Path(checkpoint_dir).glob(f"*/{glob.escape(run_id)}/last.ckpt"))
    if not found:
        raise UsageError(
            f"--resume {run_id}: no {checkpoint_dir}/*/{run_id}/last.ckpt; expected the id of a"
            f" run that saved checkpoints under checkpoint_dir={checkpoint_dir}"
        )
    return found[0]


def read_checkpoint(path: Path, key: str, hint: str = "resume from another one") -> dict:
    """A checkpoint loaded without running code from it (weights_only); UsageError if unreadable.

    Shared by resuming and by src/inference/loading.py (evaluate/predict --checkpoint)."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, refused global, not a torch file...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        advice = f"; {hint}" if hint else ""
        message = f"{key}: {path} is not a readable checkpoint ({reason}){advice}"
        raise UsageError(message) from error
    if not isinstance(checkpoint, dict):
        raise UsageError(f"{key}: {path} holds a {type(checkpoint).__name__}, not a checkpoint")
    return checkpoint


def resolve_resume(cfg: TrainConfig) -> tuple[Path | None, str | None]:
    """The checkpoint to resume from and the MLflow run it belongs to (its folder's name).

    The checkpoint is read here, before any run is reopened, so that a corrupt file or one from a
    different model is a clean error instead of a FAILED run.
    """
    from lightning.pytorch.utilities import rank_zero_only

    if cfg.ckpt_path is None:
        return None, None
    worker = rank_zero_only.rank != 0
    if cfg.ckpt_path == "last":
        path = find_last_checkpoint(cfg, os.environ.get(RUN_ID_ENV) if worker else None)
    else:
        path = Path(cfg.ckpt_path)
    key = f"ckpt_path={cfg.ckpt_path}"
    if not path.is_file():
        raise UsageError(f'{key}: no such checkpoint file; expected "last" or a .ckpt file')
    saved = read_checkpoint(path, key).get("train_config")
    if saved is not None:
        _check_resumable(cfg, saved, f"{key} ({path})")
    return path, path.parent.name


def _check_resumable(cfg: TrainConfig, saved: dict, where: str) -> None:
    before, now = flatten(saved), flatten(dataclasses.asdict(cfg))
    for key in (*RESUME_MUST_MATCH, "model.dropout", "model.input_dropout"):
        if key not in before:
            continue
        old, new = before[key], now[key]
        if key.endswith("dropout"):
            old, new = old > 0, new > 0
        elif isinstance(old, tuple | list):
            old, new = list(old), list(new)
        if old != new:
            raise UsageError(
                f"{where}: the checkpoint was trained with {key}={before[key]!r}, the config says"
                f" {now[key]!r}; resume with the same {key} (or use --resume RUN_ID, which reuses"
                " the run's config)"
            )


class CheckpointDirError(Exception):
    """checkpoint_dir cannot be written; found before a run is opened, not at the first save."""


def make_checkpoint_root(cfg: TrainConfig) -> None:
    root = Path(cfg.checkpoint_dir) / cfg.mlflow.experiment_name
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CheckpointDirError(
            f"checkpoint_dir={cfg.checkpoint_dir}: cannot create {root} ({error.strerror});"
            " expected a writable folder"
        ) from error
    if not os.access(root, os.W_OK):
        raise CheckpointDirError(
            f"checkpoint_dir={cfg.checkpoint_dir}: {root} is not writable; expected a writable"
            " folder"
        )
