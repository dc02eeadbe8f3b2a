"""The losses by name (`model.loss`). Each reads raw class scores (logits); predictions are
their argmax for every loss. Named functions, not lambdas: a module holding one pickles (DDP
spawn)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from src.config.names import Loss, by_name

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _one_hot(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return F.one_hot(target, logits.shape[-1]).to(logits.dtype)


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0):
    return F.cross_entropy(logits, target, label_smoothing=label_smoothing)


def nll(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0):
    return F.nll_loss(F.log_softmax(logits, -1), target)


def mse(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0):
    return F.mse_loss(logits.softmax(-1), _one_hot(target, logits))


def bce(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0):
    return F.binary_cross_entropy_with_logits(logits, _one_hot(target, logits))


def hinge(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0):
    return F.multi_margin_loss(logits, target)


LOSSES: dict[str, Callable[..., torch.Tensor]] = by_name(
    Loss, {"cross_entropy": cross_entropy, "nll": nll, "mse": mse, "bce": bce, "hinge": hinge}
)


def make_loss(name: str, label_smoothing: float = 0.0) -> LossFn:
    """loss(logits, target) for `model.loss` and `model.label_smoothing`."""
    return functools.partial(LOSSES[name], label_smoothing=label_smoothing)
