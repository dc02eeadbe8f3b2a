"""Warm start (`enqueue:` in a study config, `--enqueue FILE` on src.tune): trials to run first,
as dotted-key dicts (`{model.dropout: 0.1}`) or training YAMLs (say an earlier study's
`configs/experiments/best-<study>.yaml`), turned into the params Optuna's `enqueue_trial` takes.

Only search-space keys are enqueued; the sampler picks the keys an entry leaves out. A training
YAML describes a whole training config (the defaults plus what it sets), so a key it does not set
is enqueued at its default when that lies in the search space, and left to the sampler otherwise;
what it sets outside the search space (trainer.max_epochs, seed, ...) is ignored and reported.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from src.config.dotted import flatten
from src.config.search_space import ParamRange, encode, is_int, leaf_type
from src.errors import ConfigError, UsageError, one_line


@dataclass(frozen=True)
class EnqueuedTrial:
    source: str
    """`enqueue[0]`, or `enqueue[1] (path/to/best.yaml)`: how errors and notes name it."""
    params: dict[str, Any]
    """Search-space key -> the value as Optuna stores it (list choices as JSON text)."""
    ignored: tuple[str, ...] = ()
    """Keys a training YAML sets that are not in the search space."""
    sampled: tuple[str, ...] = ()
    """Search-space keys a training YAML leaves at a default outside the search space."""


def resolve_enqueue(
    entries: Sequence[Mapping[str, Any] | str], space: Mapping[str, ParamRange]
) -> list[EnqueuedTrial]:
    """Every entry checked against the search space: ConfigError naming the entry and key."""
    trials = []
    for index, entry in enumerate(entries):
        if isinstance(entry, Mapping):
            where = f"enqueue[{index}]"
            values = flatten(entry)
            for key in values:
                if key not in space:
                    allowed = ", ".join(space)
                    raise ConfigError(f"{where}.{key} is not in search_space: allowed {allowed}")
            params = {
                key: to_param(f"{where}.{key}", space[key], key, v) for key, v in values.items()
            }
            trials.append(EnqueuedTrial(where, params))
        else:
            trials.append(from_training_file(f"enqueue[{index}] ({entry})", Path(entry), space))
    return trials


def from_training_file(where: str, path: Path, space: Mapping[str, ParamRange]) -> EnqueuedTrial:
    import yaml

    from src.config.parsing import parse_train_config

    if not path.is_file():
        raise UsageError(f"{where}: no such file; expected a training config YAML")
    try:
        explicit = flatten(yaml.safe_load(path.read_text()) or {})
        resolved = flatten(dataclasses.asdict(parse_train_config(["--config", str(path)])))
    except (OSError, yaml.YAMLError, AttributeError) as error:
        raise UsageError(f"{where}: not a training config YAML: {one_line(str(error))}") from None
    except (ConfigError, UsageError) as error:
        raise UsageError(f"{where}: {one_line(str(error))}") from None
    params, sampled = {}, []
    for key, spec in space.items():
        if key in explicit:
            params[key] = to_param(f"{where} {key}", spec, key, resolved[key])
            continue
        try:
            params[key] = to_param(key, spec, key, resolved[key])
        except ConfigError:
            sampled.append(key)  # the file's default is outside the space: the sampler picks
    ignored = tuple(key for key in explicit if key not in space and key != "mlflow.run_name")
    return EnqueuedTrial(where, params, ignored, tuple(sampled))


def to_param(where: str, spec: ParamRange, key: str, value: Any) -> Any:
    """The value as the trial would store it (what `sample` suggests), or ConfigError naming
    `where` when the search space could never produce it."""
    if spec.choices is not None:
        for choice in spec.choices:
            same_type = isinstance(value, bool) == isinstance(choice, bool)
            if same_type and encode(choice) == encode(value):
                return encode(choice)
        raise ConfigError(
            f"{where}={value!r} is outside search_space.{key}: choices {spec.choices}"
        )
    integer = is_int(leaf_type(key))
    number = isinstance(value, int | float) and not isinstance(value, bool)
    inside = number and math.isfinite(value) and spec.low <= value <= spec.high
    on_step = spec.step is None or (
        number
        and abs((value - spec.low) / spec.step - round((value - spec.low) / spec.step)) < 1e-9
    )
    if not inside or not on_step or (integer and value != int(value)):
        step = f" in steps of {spec.step}" if spec.step is not None else ""
        kind = "an int" if integer else "a number"
        raise ConfigError(
            f"{where}={value!r} is outside search_space.{key}: {kind} in "
            f"[{spec.low}, {spec.high}]{step}"
        )
    # Optuna's skip_if_exists compares types: a float range stores floats, an int range ints.
    return int(value) if integer else float(value)
