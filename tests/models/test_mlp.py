"""The MLP: raw pixels in, class scores out, with its input normalisation built in."""

from __future__ import annotations

import pytest
import torch

from src.models.mlp import ACTIVATIONS, MLP


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
