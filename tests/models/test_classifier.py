"""The LightningModule: L1/L2 penalties on the weights (not the biases) and max-norm."""

from __future__ import annotations

import pytest
import torch

from src.models.classifier import MLPClassifier
from src.models.mlp import MLP


def module_with(**kwargs) -> MLPClassifier:
    torch.manual_seed(0)
    return MLPClassifier(MLP(hidden_dims=[5, 4]), **kwargs)


def test_l2_penalty_is_lambda_times_squared_weights_without_biases() -> None:
    module = module_with(l2_penalty=0.01)
    weights = [m.weight for m in module.net.modules() if isinstance(m, torch.nn.Linear)]
    by_hand = 0.01 * sum(float((w.detach() ** 2).sum()) for w in weights)
    assert float(module.penalty()) == pytest.approx(by_hand, rel=1e-6)


def test_l1_penalty_is_lambda_times_absolute_weights_without_biases() -> None:
    module = module_with(l1_penalty=0.003)
    weights = [m.weight for m in module.net.modules() if isinstance(m, torch.nn.Linear)]
    by_hand = 0.003 * sum(float(w.detach().abs().sum()) for w in weights)
    assert float(module.penalty()) == pytest.approx(by_hand, rel=1e-6)


def test_penalties_add_up_and_are_zero_when_off() -> None:
    assert module_with().penalty() == 0.0
    both = float(module_with(l1_penalty=0.1, l2_penalty=0.2).penalty())
    assert both == pytest.approx(
        float(module_with(l1_penalty=0.1).penalty()) + float(module_with(l2_penalty=0.2).penalty())
    )


def test_max_norm_caps_each_units_incoming_weights() -> None:
    module = module_with(max_norm=0.5)
    with torch.no_grad():
        for weight in module.net.weight_matrices():
            weight.mul_(100)
    module.on_train_batch_end(None, None, 0)
    for weight in module.net.weight_matrices():
        row_norms = weight.norm(dim=1)
        assert row_norms.max() <= 0.5 + 1e-5
        assert row_norms.min() > 0.4  # scaled down to the cap, not zeroed
