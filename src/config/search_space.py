"""The search space of a study: entries keyed by dotted training-config keys (`optimizer.lr`),
checked against the training schema before any trial runs.

Categorical choices that are not plain scalars (say `model.hidden_dims: [512, 256]`) are offered
to Optuna as their JSON text, which every storage can hold (`encode`), and decoded back when the
config is built (src/tuning/search.py); trial params therefore read `"[512, 256]"`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from src.config.train import TrainConfig
from src.errors import ConfigError

SCALAR_TYPES = (str, int, float, bool, type(None))


@dataclass
class ParamRange:
    """One search-space entry, keyed by a dotted training-config key (`optimizer.lr`).

    Either `choices` (any YAML values, lists included) or a `low`..`high` range; a range is
    sampled as int when the training key is an int, else as float.
    """

    choices: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    """Grid spacing of a range; required for the grid sampler."""
    log: bool = False
    """Sample the range log-uniformly (low > 0, no step)."""


def leaf_type(key: str) -> Any:
    """The type hint of a dotted TrainConfig key, or ConfigError if the key is not a leaf."""
    cls: Any = TrainConfig
    parts = key.split(".")
    for depth, part in enumerate(parts):
        hints = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
        if part not in hints:
            raise ConfigError(f"search_space: {key!r} is not a training config key")
        cls = hints[part]
        if dataclasses.is_dataclass(cls) and depth == len(parts) - 1:
            raise ConfigError(f"search_space: {key!r} is a section; name one of its keys")
    return cls


def is_int(hint: Any) -> bool:
    """int, or int | None; not float | int, not bool."""
    members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    numbers = [m for m in members if m is not type(None)]
    return numbers == [int]


def is_number(hint: Any) -> bool:
    members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return any(m in (int, float) for m in members) and bool not in members


def check_search_space(space: Mapping[str, ParamRange], grid: bool = False) -> None:
    """ConfigError naming `search_space.<key>` for anything Optuna or the schema would reject."""
    for key, spec in space.items():
        hint = leaf_type(key)
        where = f"search_space.{key}"
        if spec.choices is not None:
            if spec.low is not None or spec.high is not None:
                raise ConfigError(f"{where}: give either choices or low/high, not both")
            if not spec.choices:
                raise ConfigError(f"{where}: choices is empty")
            continue
        if spec.low is None or spec.high is None:
            raise ConfigError(f"{where}: give choices, or both low and high")
        if not is_number(hint):
            raise ConfigError(f"{where}: {key} is not a number; give choices instead of a range")
        if not all(math.isfinite(v) for v in (spec.low, spec.high)) or spec.low >= spec.high:
            raise ConfigError(f"{where}: low={spec.low} must be finite and below high={spec.high}")
        if spec.step is not None and not spec.step > 0:
            raise ConfigError(f"{where}: step={spec.step} must be > 0")
        if spec.log and (spec.low <= 0 or spec.step is not None):
            raise ConfigError(f"{where}: log=true needs low > 0 and no step")
        if is_int(hint):
            for name in ("low", "high", "step"):
                value = getattr(spec, name)
                if value is not None and value != int(value):
                    raise ConfigError(f"{where}: {key} is an int, so {name}={value} must be one")
        if grid and spec.step is None and not is_int(hint):
            raise ConfigError(f"{where}: the grid sampler needs choices or a step for a range")


def encode(choice: Any) -> Any:
    return choice if isinstance(choice, SCALAR_TYPES) else json.dumps(choice)
