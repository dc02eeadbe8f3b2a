"""Sampling the search space with an Optuna trial, and reading a finished trial's params back
as config values (list choices travel as JSON text: src/config/search_space.py)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from src.config.dotted import with_values
from src.config.parsing import parse_train_config
from src.config.search_space import ParamRange, encode, is_int, leaf_type
from src.errors import ConfigError, UsageError, one_line

if TYPE_CHECKING:
    import optuna


def sample(trial: optuna.Trial, space: Mapping[str, ParamRange]) -> dict[str, Any]:
    """One value per key, suggested by the trial's sampler; decoded to config values."""
    values = {}
    for key, spec in space.items():
        if spec.choices is not None:
            decoded = {encode(c): c for c in spec.choices}
            values[key] = decoded[trial.suggest_categorical(key, list(decoded))]
        elif is_int(leaf_type(key)):
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
            value = {encode(c): c for c in spec.choices}.get(value, value)
        values[key] = value
    return values


def grid(space: Mapping[str, ParamRange]) -> dict[str, list[Any]]:
    """Every point of each entry, for optuna.samplers.GridSampler."""
    points: dict[str, list[Any]] = {}
    for key, spec in space.items():
        if spec.choices is not None:
            points[key] = [encode(c) for c in spec.choices]
            continue
        count = math.floor((spec.high - spec.low) / (spec.step or 1) + 1e-9) + 1
        values = [spec.low + i * (spec.step or 1) for i in range(count)]
        points[key] = [int(v) for v in values] if is_int(leaf_type(key)) else values
    return points


def check_against_schema(train: Any, space: Mapping[str, ParamRange]) -> None:
    """Every choice, and both ends of every range, set one at a time on the base training config
    `train` and validated as a training run's config would be: a study that could only produce
    rejected values would run every trial to FAIL. UsageError names the first offender."""
    base = dataclasses.asdict(train)
    for key, spec in space.items():
        values = spec.choices if spec.choices is not None else [spec.low, spec.high]
        if spec.choices is None and is_int(leaf_type(key)):
            values = [int(value) for value in values]
        for value in values:
            try:
                parse_train_config(with_values(base, {key: value}))
            except (ConfigError, UsageError) as error:
                raise UsageError(
                    f"search_space.{key}: the value {value!r} is rejected by the training"
                    f" schema ({one_line(str(error))})"
                ) from None
