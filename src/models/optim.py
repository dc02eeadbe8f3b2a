"""Optimizers and learning-rate schedules by name (`optimizer.name`, `scheduler.name`), each
built from its config section."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from src.config.model import OptimizerConfig, SchedulerConfig
from src.config.names import OptimizerName, SchedulerName, by_name


def _sgd(params: list, cfg: OptimizerConfig, common: dict) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, momentum=cfg.momentum, nesterov=cfg.nesterov, **common)


def _adam(params: list, cfg: OptimizerConfig, common: dict) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, betas=cfg.betas, **common)


def _adamw(params: list, cfg: OptimizerConfig, common: dict) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, betas=cfg.betas, **common)


def _rmsprop(params: list, cfg: OptimizerConfig, common: dict) -> torch.optim.Optimizer:
    common = {k: v for k, v in common.items() if k != "fused"}  # torch has no fused RMSprop
    return torch.optim.RMSprop(params, momentum=cfg.momentum, **common)


OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = by_name(
    OptimizerName, {"sgd": _sgd, "adam": _adam, "adamw": _adamw, "rmsprop": _rmsprop}
)


def build_optimizer(
    params: Iterable[torch.nn.Parameter], cfg: OptimizerConfig
) -> torch.optim.Optimizer:
    params = list(params)
    # One fused kernel per step instead of ~6 tensor ops per parameter: on 2 CPU cores Adam's
    # step drops from ~3 ms to ~0.9 ms for 784-512-256-10 (measured), a third of the whole step.
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    common = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, "fused": fused}
    return OPTIMIZERS[cfg.name](params, cfg, common)


def _constant(optimizer, cfg: SchedulerConfig, max_epochs: int, total_steps) -> dict | None:
    return None


def _cosine(optimizer, cfg: SchedulerConfig, max_epochs: int, total_steps) -> dict:
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=cfg.epochs or max_epochs, eta_min=cfg.min_lr
    )
    return {"scheduler": scheduler, "interval": "epoch"}


def _step(optimizer, cfg: SchedulerConfig, max_epochs: int, total_steps) -> dict:
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)
    return {"scheduler": scheduler, "interval": "epoch"}


def _onecycle(optimizer, cfg: SchedulerConfig, max_epochs: int, total_steps) -> dict:
    max_lr = [group["lr"] * cfg.max_lr_factor for group in optimizer.param_groups]
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=int(total_steps), pct_start=cfg.pct_start
    )
    return {"scheduler": scheduler, "interval": "step"}


def _plateau(optimizer, cfg: SchedulerConfig, max_epochs: int, total_steps) -> dict:
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=cfg.factor, patience=cfg.patience, min_lr=cfg.min_lr
    )
    return {"scheduler": scheduler, "interval": "epoch", "monitor": "val/loss"}


SCHEDULERS: dict[str, Callable[..., dict | None]] = by_name(
    SchedulerName,
    {
        "none": _constant,
        "cosine": _cosine,
        "step": _step,
        "onecycle": _onecycle,
        "plateau": _plateau,
    },
)


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    cfg: SchedulerConfig,
    max_epochs: int,
    total_steps: int | float,
) -> dict | None:
    """A Lightning lr_scheduler dict (stepped per epoch, onecycle per batch), or None for a
    constant learning rate."""
    return SCHEDULERS[cfg.name](optimizer, cfg, max_epochs, total_steps)
