"""The losses: each one a finite scalar with gradients; mse on softmax against one-hot."""

from __future__ import annotations

import pytest
import torch

from src.models.losses import LOSSES


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_loss_gives_a_finite_scalar_with_gradients(loss: str) -> None:
    logits = torch.randn(8, 10, requires_grad=True)
    target = torch.randint(0, 10, (8,))
    value = LOSSES[loss](logits, target, 0.1)
    value.backward()
    assert value.ndim == 0 and torch.isfinite(value)
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_mse_compares_softmax_with_one_hot() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    target = torch.tensor([0])
    expected = ((logits.softmax(-1) - torch.tensor([[1.0, 0.0, 0.0]])) ** 2).mean()
    assert torch.allclose(LOSSES["mse"](logits, target, 0.0), expected)
