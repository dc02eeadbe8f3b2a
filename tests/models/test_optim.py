"""Optimizers and learning-rate schedules, built from their config."""

from __future__ import annotations

import math

import pytest
import torch

from src.config.model import OptimizerConfig, SchedulerConfig
from src.models.mlp import MLP
from src.models.optim import build_optimizer, build_scheduler


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_optimizer_takes_a_step(name: str) -> None:
    net = MLP(hidden_dims=[8])
    optimizer = build_optimizer(net.parameters(), OptimizerConfig(name=name, lr=0.1))
    before = [p.detach().clone() for p in net.parameters()]
    pixels = torch.randint(0, 256, (8, 784), dtype=torch.uint8)
    net(pixels).sum().backward()
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, net.parameters(), strict=True))


def test_sgd_nesterov_and_weight_decay_reach_the_optimizer() -> None:
    cfg = OptimizerConfig(name="sgd", lr=0.1, momentum=0.8, nesterov=True, weight_decay=1e-4)
    optimizer = build_optimizer(MLP(hidden_dims=[]).parameters(), cfg)
    group = optimizer.param_groups[0]
    assert (group["momentum"], group["nesterov"], group["weight_decay"]) == (0.8, True, 1e-4)


@pytest.mark.parametrize("name", ["none", "cosine", "step", "onecycle", "plateau"])
def test_every_schedule_builds(name: str) -> None:
    optimizer = build_optimizer(MLP(hidden_dims=[]).parameters(), OptimizerConfig())
    scheduler = build_scheduler(optimizer, SchedulerConfig(name=name), 10, 100)
    assert (scheduler is None) == (name == "none")
    if scheduler is not None:
        assert scheduler["interval"] == ("step" if name == "onecycle" else "epoch")


def test_cosine_epochs_stretches_the_curve_beyond_the_run() -> None:
    optimizer = build_optimizer(MLP(hidden_dims=[]).parameters(), OptimizerConfig(lr=1.0))
    scheduler = build_scheduler(optimizer, SchedulerConfig(epochs=100), 61, 610)["scheduler"]
    for _ in range(60):
        scheduler.step()
    # Epoch 60 of a 100-epoch cosine, not the end of a 61-epoch one.
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.6)))
