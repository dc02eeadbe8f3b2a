"""The MLP: a plain nn.Module that takes raw pixels and returns class scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from src.config.model import ModelConfig
from src.config.names import Activation, by_name

_DEFAULT = ModelConfig()  # one default per setting: the config's

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = by_name(
    Activation,
    {
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "elu": nn.ELU,
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "identity": nn.Identity,
    },
)


class MLP(nn.Module):
    """Raw pixels in (0-255, any float or uint8 dtype, shape (n, 784)), class scores out.

    The input normalisation is part of the network so that a logged or exported model takes the
    same raw pixels as the data files, with no preprocessing code to ship beside it. Defaults are
    the training config's (src/config/model.py): `MLP()` is the network `python -m src.train`
    builds.
    """

    def __init__(
        self,
        in_features: int = 784,
        num_classes: int = 10,
        hidden_dims: Sequence[int] = tuple(_DEFAULT.hidden_dims),
        activation: str = _DEFAULT.activation,
        dropout: float = _DEFAULT.dropout,
        input_dropout: float = _DEFAULT.input_dropout,
        batch_norm: bool = _DEFAULT.batch_norm,
        pixel_mean: float = 0.0,
        pixel_std: float = 1.0,
    ) -> None:
        super().__init__()
        # x_normalised = (x / 255 - mean) / std, folded into one multiply-add.
        self.register_buffer("input_scale", torch.tensor(1.0 / (255.0 * pixel_std)))
        self.register_buffer("input_shift", torch.tensor(-pixel_mean / pixel_std))
        layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
        width = in_features
        for hidden in hidden_dims:
            layers.append(nn.Linear(width, hidden))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.reshape(pixels.shape[0], -1).to(self.input_scale.dtype)
        return self.layers(torch.addcmul(self.input_shift, x, self.input_scale))

    def weight_matrices(self) -> list[torch.Tensor]:
        return [m.weight for m in self.layers if isinstance(m, nn.Linear)]
