"""The search space: entries keyed by dotted training-config keys, checked against the training
schema, sampled with an Optuna trial and written into a nested training config.

Categorical choices that are not plain scalars (say `model.hidden_dims: [512, 256]`) are offered
to Optuna as their JSON text, which every storage can hold, and decoded back when the config is
built; trial params therefore read `"[512, 256]"`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from src.config import ConfigError, TrainConfig

if TYPE_CHECKING:
    import optuna

    from src.tune_config import ParamRange

SCALAR_TYPES = (str, int, float, bool, type(None))


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


def _is_int(hint: Any) -> bool:
    """int, or int | None; not float | int, not bool."""
    members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    numbers = [m for m in members if m is not type(None)]
    return numbers == [int]


def _is_number(hint: Any) -> bool:
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
        if not _is_number(hint):
            raise ConfigError(f"{where}: {key} is not a number; give choices instead of a range")
        if not all(math.isfinite(v) for v in (spec.low, spec.high)) or spec.low >= spec.high:
            raise ConfigError(f"{where}: low={spec.low} must be finite and below high={spec.high}")
        if spec.step is not None and not spec.step > 0:
            raise ConfigError(f"{where}: step={spec.step} must be > 0")
        if spec.log and (spec.low <= 0 or spec.step is not None):
            raise ConfigError(f"{where}: log=true needs low > 0 and no step")
        if _is_int(hint):
            for name in ("low", "high", "step"):
                value = getattr(spec, name)
                if value is not None and value != int(value):
                    raise ConfigError(f"{where}: {key} is an int, so {name}={value} must be one")
        if grid and spec.step is None and not _is_int(hint):
            raise ConfigError(f"{where}: the grid sampler needs choices or a step for a range")


def _encode(choice: Any) -> Any:
    return choice if isinstance(choice, SCALAR_TYPES) else json.dumps(choice)


def sample(trial: optuna.Trial, space: Mapping[str, ParamRange]) -> dict[str, Any]:
    """One value per key, suggested by the trial's sampler; decoded to config values."""
    values = {}
    for key, spec in space.items():
        if spec.choices is not None:
            decoded = {_encode(c): c for c in spec.choices}
            values[key] = decoded[trial.suggest_categorical(key, list(decoded))]
        elif _is_int(leaf_type(key)):
            step = int(spec.step or 1)
            values[key] = trial.suggest_int(
                key, int(spec.low), int(spec.high), step=step, log=spec.log
            )
        else:
            values[key] = trial.suggest_float(
                key, spec.low, spec.high, step=spec.step, log=spec.log
            )
    return values


def decode(params: Mapping[str, Any], space: Mapping[str, ParamRange]) -> dict[str, Any]:
    """A finished trial's params (JSON text for list choices) as config values."""
    values = {}
    for key, value in params.items():
        spec = space.get(key)
        if spec is not None and spec.choices is not None:
            value = {_encode(c): c for c in spec.choices}.get(value, value)
        values[key] = value
    return values


def grid(space: Mapping[str, ParamRange]) -> dict[str, list[Any]]:
    """Every point of each entry, for optuna.samplers.GridSampler."""
    points: dict[str, list[Any]] = {}
    for key, spec in space.items():
        if spec.choices is not None:
            points[key] = [_encode(c) for c in spec.choices]
            continue
        count = math.floor((spec.high - spec.low) / (spec.step or 1) + 1e-9) + 1
        values = [spec.low + i * (spec.step or 1) for i in range(count)]
        points[key] = [int(v) for v in values] if _is_int(leaf_type(key)) else values
    return points


def with_values(config: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a nested config dict with dotted keys set: {"model.dropout": 0.1}."""
    result = json.loads(json.dumps(config))  # deep copy; configs are plain JSON-able data
    for key, value in values.items():
        *sections, leaf = key.split(".")
        node = result
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = value
    return result
