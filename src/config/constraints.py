"""What a study's trials must satisfy (`constraints: {params: {max: 300000}}`): bounds on measured
quantities, turned into Optuna 5 constraint values (value - bound, <= 0 is feasible).

Optuna 5 reads constraints from each trial (`Trial.set_constraint`, which replaced the samplers'
`constraints_func`); TPE, GP and NSGA-II steer away from infeasible regions, and the study's best
trial and Pareto front hold feasible trials only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from src.config.checks import check, finite
from src.config.names import ConstraintName, names_of
from src.errors import ConfigError


@dataclass
class Bound:
    """A closed interval on one measured quantity; either end may be open (null)."""

    min: float | None = None
    max: float | None = None


def check_constraints(constraints: Mapping[str, Bound]) -> None:
    """ConfigError naming `constraints.<name>` for an unknown name or a bound that is not one."""
    allowed = names_of(ConstraintName)
    for name, bound in constraints.items():
        where = f"constraints.{name}"
        if name not in allowed:
            raise ConfigError(f"{where} is not a constraint: allowed {', '.join(allowed)}")
        if bound.min is None and bound.max is None:
            raise ConfigError(f"{where}: give min, max or both (e.g. {{max: 300000}})")
        for end in ("min", "max"):
            value = getattr(bound, end)
            check(value is None or finite(value), f"{where}.{end}", "a finite number", value)
        if bound.min is not None and bound.max is not None and bound.min > bound.max:
            raise ConfigError(f"{where}: min={bound.min} is above max={bound.max}")


def constraint_values(
    constraints: Mapping[str, Bound], measured: Mapping[str, float | None]
) -> dict[str, float]:
    """Optuna's constraint values, one per bound end: `params.max` -> params - max, `params.min`
    -> min - params; <= 0 means satisfied. A quantity that was not measured is skipped."""
    values = {}
    for name, bound in constraints.items():
        value = measured.get(name)
        if value is None:
            continue
        if bound.max is not None:
            values[f"{name}.max"] = float(value) - bound.max
        if bound.min is not None:
            values[f"{name}.min"] = bound.min - float(value)
    return values


def describe_violation(key: str, violation: float, constraints: Mapping[str, Bound]) -> str:
    """`params.max` with +12000 -> "params 312000 > 300000": what a user reads in the summary."""
    name, _, end = key.partition(".")
    bound = getattr(constraints[name], end) if name in constraints else None
    if bound is None:
        return f"{key} {violation:+.4g}"
    value = bound + violation if end == "max" else bound - violation
    return f"{name} {value:.4g} {'>' if end == 'max' else '<'} {bound:.4g}"
