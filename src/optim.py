"""Optimizers and learning-rate schedules by name, from their config sections."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from lightning.pytorch.callbacks import EMAWeightAveraging
from lightning.pytorch.trainer.states import TrainerFn

from src.config import OptimizerConfig, SchedulerConfig


def build_optimizer(
    params: Iterable[torch.nn.Parameter], cfg: OptimizerConfig
) -> torch.optim.Optimizer:
    params = list(params)
    common = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
    # One fused kernel per step instead of ~6 tensor ops per parameter: on 2 CPU cores Adam's
    # step drops from ~3 ms to ~0.9 ms for 784-512-256-10 (measured), a third of the whole step.
    fused = {"fused": all(p.device.type in ("cpu", "cuda") for p in params)}
    if cfg.name == "sgd":
        momentum = {"momentum": cfg.momentum, "nesterov": cfg.nesterov}
        return torch.optim.SGD(params, **momentum, **common, **fused)
    if cfg.name == "adam":
        return torch.optim.Adam(params, betas=cfg.betas, **common, **fused)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, betas=cfg.betas, **common, **fused)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, momentum=cfg.momentum, **common)
    raise ValueError(f"optimizer.name={cfg.name!r} is not one of sgd, adam, adamw, rmsprop")


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    cfg: SchedulerConfig,
    max_epochs: int,
    total_steps: int | float,
) -> dict | None:
    """A Lightning lr_scheduler dict, or None for a constant learning rate."""
    if cfg.name == "none":
        return None
    if cfg.name == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max_epochs, eta_min=cfg.min_lr
        )
    elif cfg.name == "step":
        scheduler = torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=cfg.step_size, gamma=cfg.gamma
        )
    elif cfg.name == "onecycle":
        max_lr = [group["lr"] * cfg.max_lr_factor for group in optimizer.param_groups]
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=int(total_steps), pct_start=cfg.pct_start
        )
        return {"scheduler": scheduler, "interval": "step"}
    elif cfg.name == "plateau":
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=cfg.factor, patience=cfg.patience, min_lr=cfg.min_lr
        )
        return {"scheduler": scheduler, "interval": "epoch", "monitor": "val/loss"}
    else:
        raise ValueError(
            f"scheduler.name={cfg.name!r} is not one of none, cosine, step, onecycle, plateau"
        )
    return {"scheduler": scheduler, "interval": "epoch"}


class EMAWeights(EMAWeightAveraging):
    """EMA of the weights (`optimizer.ema_decay`); checkpoints hold the average as state_dict.

    Lightning also restores callbacks when testing from a checkpoint, and the stock callback then
    reloads the raw (non-averaged) weights after fit: test must score the average it validated.
    """

    def on_load_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        if trainer.state.fn == TrainerFn.FITTING:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
