"""Constraints on a study's trials (`constraints:`), the Optuna 5 way: each finished trial gets
`trial.set_constraint(key, value - bound)` (<= 0 feasible), which TPE, GP and NSGA-II read to steer
away from infeasible regions. Optuna 5's `study.best_trial` and `study.best_trials` already hold
feasible trials only (optuna/study/study.py: `_get_best_trial` falls back to the best feasible
trial, `best_trials` builds the front with `consider_constraint`); this module records what a user
needs to see besides: which trials were infeasible and why, and how many."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from src.config.constraints import constraint_values, describe_violation
from src.config.names import ConstraintName, by_name
from src.config.tune import TuneConfig
from src.tuning.monitor import TrialMonitor

# constraint name -> what the trial's monitor measured (None: not measured, the bound is skipped)
MEASURED: dict[str, Callable[[TrialMonitor], float | None]] = by_name(
    ConstraintName,
    {
        "params": lambda monitor: float(monitor.param_count) if monitor.param_count else None,
        "latency_ms": lambda monitor: monitor.latency_ms,
    },
)
FEASIBLE_ATTR = "feasible"
VIOLATIONS_ATTR = "constraint_violations"


def needs_latency(cfg: TuneConfig) -> bool:
    """The monitor measures inference latency when an objective or a constraint reads it."""
    return "latency_ms" in cfg.objectives or "latency_ms" in cfg.constraints


def record_constraints(trial, cfg: TuneConfig, monitor: TrialMonitor) -> None:
    """The trial's constraint values into Optuna (system attrs), and `feasible` plus a readable
    list of what it violated into its user attrs (shown by `optuna trials` and the dashboard)."""
    if not cfg.constraints:
        return
    measured = {name: read(monitor) for name, read in MEASURED.items()}
    values = constraint_values(cfg.constraints, measured)
    for key, value in values.items():
        trial.set_constraint(key, value)
    violations = [
        describe_violation(key, value, cfg.constraints)
        for key, value in values.items()
        if value > 0
    ]
    trial.set_user_attr(FEASIBLE_ATTR, not violations)
    if violations:
        trial.set_user_attr(VIOLATIONS_ATTR, violations)


def is_feasible(trial) -> bool:
    return all(value <= 0 for value in trial.constraints.values())


@dataclass(frozen=True)
class Feasibility:
    infeasible: int
    judged: int
    """Complete trials with constraint values (the ones a best trial is chosen from)."""
    by_constraint: dict[str, int]
    closest: str | None = None
    """When no complete trial is feasible: the one closest to its bounds, and what it broke."""

    def sentence(self) -> str:
        """ "3 of 12 complete trials infeasible (params.max: 3)"."""
        detail = ", ".join(f"{key}: {n}" for key, n in sorted(self.by_constraint.items()))
        detail = f" ({detail})" if detail else ""
        return f"{self.infeasible} of {self.judged} complete trials infeasible{detail}"


def feasibility(study, cfg: TuneConfig) -> Feasibility | None:
    """How many complete trials broke a constraint; None for a study without constraints."""
    from optuna.trial import TrialState

    if not cfg.constraints:
        return None
    judged = [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.constraints
    ]
    broken = Counter(key for t in judged for key, value in t.constraints.items() if value > 0)
    infeasible = sum(not is_feasible(t) for t in judged)
    closest = None
    if judged and infeasible == len(judged):
        trial = closest_infeasible(study, cfg)
        broke = "; ".join(trial.user_attrs.get(VIOLATIONS_ATTR, []))
        closest = f"the closest was #{trial.number} ({broke})"
    return Feasibility(infeasible, len(judged), dict(broken), closest)


def closest_infeasible(study, cfg: TuneConfig):
    """The complete trial that misses its bounds by the least (violations relative to their
    bounds, summed, so that parameters and milliseconds weigh alike), to name when no trial is
    feasible; None without complete trials."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None

    def relative(key: str, violation: float) -> float:
        name, _, end = key.partition(".")
        bound = getattr(cfg.constraints[name], end) if name in cfg.constraints else None
        return max(violation, 0.0) / max(abs(bound or 0.0), 1e-12)

    return min(complete, key=lambda t: sum(relative(k, v) for k, v in t.constraints.items()))
