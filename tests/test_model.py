"""The MLP and its LightningModule: shapes, losses, penalties, max-norm, optimizers, schedules."""

from __future__ import annotations

import math

import pytest
import torch

from src.config.model import OptimizerConfig, SchedulerConfig
from src.models.classifier import MLPClassifier
from src.models.losses import LOSSES
from src.models.mlp import ACTIVATIONS, MLP
from src.models.optim import build_optimizer


def pixels(n: int = 8) -> torch.Tensor:
    return torch.randint(0, 256, (n, 784), dtype=torch.uint8)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("hidden_dims", [[], [16], [16, 8]])
def test_mlp_maps_raw_pixels_to_class_scores(activation: str, hidden_dims: list[int]) -> None:
    net = MLP(hidden_dims=hidden_dims, activation=activation, dropout=0.1, batch_norm=True)
    assert net(pixels()).shape == (8, 10)
    assert net(pixels().float()).shape == (8, 10)  # float 0-255 works too (served models)


def test_empty_hidden_dims_is_a_single_linear_layer() -> None:
    net = MLP(hidden_dims=[])
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 10)]


def test_input_normalisation_is_built_in() -> None:
    net = MLP(hidden_dims=[], pixel_mean=0.5, pixel_std=0.25)
    x = torch.full((1, 784), 255.0)
    normalised = torch.addcmul(net.input_shift, x, net.input_scale)
    assert torch.allclose(normalised, torch.full((1, 784), (1.0 - 0.5) / 0.25))


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


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_optimizer_takes_a_step(name: str) -> None:
    net = MLP(hidden_dims=[8])
    optimizer = build_optimizer(net.parameters(), OptimizerConfig(name=name, lr=0.1))
    before = [p.detach().clone() for p in net.parameters()]
    net(pixels()).sum().backward()
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, net.parameters(), strict=True))


def test_sgd_nesterov_and_weight_decay_reach_the_optimizer() -> None:
    cfg = OptimizerConfig(name="sgd", lr=0.1, momentum=0.8, nesterov=True, weight_decay=1e-4)
    optimizer = build_optimizer(MLP(hidden_dims=[]).parameters(), cfg)
    group = optimizer.param_groups[0]
    assert (group["momentum"], group["nesterov"], group["weight_decay"]) == (0.8, True, 1e-4)


@pytest.mark.parametrize("name", ["none", "cosine", "step", "onecycle", "plateau"])
def test_every_schedule_builds(name: str) -> None:
    from src.models.optim import build_scheduler

    optimizer = build_optimizer(MLP(hidden_dims=[]).parameters(), OptimizerConfig())
    scheduler = build_scheduler(optimizer, SchedulerConfig(name=name), 10, 100)
    assert (scheduler is None) == (name == "none")
    if scheduler is not None:
        assert scheduler["interval"] == ("step" if name == "onecycle" else "epoch")


def test_cosine_epochs_stretches_the_curve_beyond_the_run() -> None:
    from src.models.optim import build_scheduler

    optimizer = build_optimizer(MLP(hidden_dims=[]).parameters(), OptimizerConfig(lr=1.0))
    scheduler = build_scheduler(optimizer, SchedulerConfig(epochs=100), 61, 610)["scheduler"]
    for _ in range(60):
        scheduler.step()
    # Epoch 60 of a 100-epoch cosine, not the end of a 61-epoch one.
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.6)))
