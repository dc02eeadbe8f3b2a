"""Config -> DataModule, LightningModule, callbacks and Trainer: the one wiring path that both
`src.train` and `src.tune` use."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.plugins.io.wrapper import _WrappingCheckpointIO
from lightning_utilities.core.apply_func import apply_to_collection

from src.config.train import TrainConfig
from src.data.datamodule import MNISTDataModule
from src.models.classifier import MLPClassifier
from src.models.losses import make_loss
from src.models.mlp import MLP
from src.models.optim import build_optimizer, build_scheduler
from src.runtime.writes import SerialWriter
from src.tracking.logger import MlflowRunLogger
from src.training.callbacks import DDPSignals, EMAWeights
from src.training.progress import progress_callbacks, shows_bar


def build_datamodule(cfg: TrainConfig) -> MNISTDataModule:
    return MNISTDataModule(**dataclasses.asdict(cfg.data), shuffle_seed=cfg.seed)


_PIXEL_STATS: dict[str, tuple[float, float]] = {}  # by dataset digest: once per process


def pixel_stats(datamodule: MNISTDataModule) -> tuple[float, float]:
    """Mean and std of the training pixels in [0, 1], for the network's built-in normalisation."""
    arrays = datamodule.arrays
    if arrays.digest not in _PIXEL_STATS:
        pixels = torch.from_numpy(arrays.train_x).double()
        _PIXEL_STATS[arrays.digest] = (pixels.mean().item() / 255.0, pixels.std().item() / 255.0)
    return _PIXEL_STATS[arrays.digest]


def build_net(
    cfg: TrainConfig,
    in_features: int = 784,
    num_classes: int = 10,
    pixel_mean: float = 0.0,
    pixel_std: float = 1.0,
) -> MLP:
    """The plain nn.Module of `model.*`; the pixel statistics may also come from a state dict."""
    m = cfg.model
    return MLP(
        in_features=in_features,
        num_classes=num_classes,
        hidden_dims=m.hidden_dims,
        activation=m.activation,
        dropout=m.dropout,
        input_dropout=m.input_dropout,
        batch_norm=m.batch_norm,
        pixel_mean=pixel_mean,
        pixel_std=pixel_std,
    )


def build_model(cfg: TrainConfig, datamodule: MNISTDataModule) -> MLPClassifier:
    mean, std = pixel_stats(datamodule)
    m = cfg.model
    net = build_net(cfg, datamodule.num_features, datamodule.num_classes, mean, std)
    if m.compile:
        net.compile()  # in place: parameter names, and so checkpoints, stay as without compile
    module = MLPClassifier(
        net,
        loss=make_loss(m.loss, m.label_smoothing),
        l2_penalty=m.l2_penalty,
        l1_penalty=m.l1_penalty,
        max_norm=m.max_norm,
        optimizer=functools.partial(build_optimizer, cfg=cfg.optimizer),
        scheduler=functools.partial(build_scheduler, cfg=cfg.scheduler),
        num_classes=datamodule.num_classes,
    )
    module.train_config = dataclasses.asdict(cfg)
    return module


def build_callbacks(cfg: TrainConfig, checkpoint_dir: Path) -> list[Callback]:
    has_val = cfg.data.validates
    # Without validation nothing can choose an epoch: best.ckpt is then the final epoch (a refit
    # on all training images for the epochs validation chose earlier), not the lowest train/loss,
    # which dropout makes noisy and which EMA weights do not produce.
    best = ModelCheckpoint(
        dirpath=checkpoint_dir,
        filename="best",
        monitor="val/acc" if has_val else None,
        mode="max",
        auto_insert_metric_name=False,
    )
    # last.ckpt, what `--ckpt_path last` resumes, is every epoch's state. Not `save_last=True`:
    # since Lightning 2.6 that writes last.ckpt only in the epochs that also write best.ckpt, so
    # once val/acc stops rising a resume would restart from the best epoch, not the last.
    # After `best` (Lightning keeps their order): last.ckpt holds `best`'s updated state.
    last = ModelCheckpoint(
        dirpath=checkpoint_dir, filename="last", monitor=None, enable_version_counter=False
    )
    callbacks: list[Callback] = [best, last]
    es = cfg.early_stopping
    if es.enabled and has_val:
        callbacks.append(
            EarlyStopping(es.monitor, min_delta=es.min_delta, patience=es.patience, mode=es.mode)
        )
    if cfg.optimizer.ema_decay is not None:
        callbacks.append(EMAWeights(decay=cfg.optimizer.ema_decay))
    callbacks.extend(progress_callbacks(cfg.trainer.enable_progress_bar))
    callbacks.append(DDPSignals())  # a no-op unless torch.distributed is running
    return callbacks


def build_trainer(
    cfg: TrainConfig,
    logger: L.loggers.Logger | None,
    checkpoint_dir: Path,
    extra_callbacks: Sequence[Callback] = (),
) -> L.Trainer:
    options = dataclasses.asdict(cfg.trainer)
    for optional in ("limit_train_batches", "limit_val_batches"):
        if options[optional] is None:
            options.pop(optional)
    options["enable_progress_bar"] = shows_bar(options["enable_progress_bar"])
    if not cfg.data.validates:
        options["limit_val_batches"] = 0  # else Lightning warns about the empty val loader
    # The logger's writer also writes the checkpoints: one thread keeps them in order.
    writer = logger.writer if isinstance(logger, MlflowRunLogger) else SerialWriter()
    return L.Trainer(
        **options,
        logger=logger if logger is not None else False,
        callbacks=[*build_callbacks(cfg, checkpoint_dir), *extra_callbacks],
        log_every_n_steps=0,  # metrics are logged per epoch: no step-level collection every step
        enable_model_summary=False,
        plugins=[SerialCheckpointIO(writer)],
    )


class SerialCheckpointIO(_WrappingCheckpointIO):
    """Checkpoints written by the run's `SerialWriter` thread from a copy of the tensors.

    Training then does not wait on serialising and renaming best.ckpt and last.ckpt (30-40 ms of
    a 2 s CPU epoch, benchmarks/README.md), and the files never get ahead of the metrics logged
    before them. Lightning's AsyncCheckpointIO does the same in a thread of its own; its base
    class is the one the strategy recognises and fills in with the usual torch.save IO.
    """

    def __init__(self, writer: SerialWriter) -> None:
        super().__init__()
        self._writer = writer

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        # The copy is taken now, on the training thread: the next step changes the weights.
        copy = apply_to_collection(checkpoint, torch.Tensor, lambda t: t.detach().clone())
        self._writer.submit(self.checkpoint_io.save_checkpoint, copy, path, storage_options)

    def remove_checkpoint(self, path: str | Path) -> None:
        self._writer.submit(self.checkpoint_io.remove_checkpoint, path)  # after earlier saves

    def teardown(self) -> None:
        """Lightning calls this at the end of every stage, also a failed or interrupted one."""
        self._writer.wait()


def device_name(trainer: L.Trainer) -> str:
    device = trainer.strategy.root_device
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return platform.processor() or platform.machine() or "cpu"
