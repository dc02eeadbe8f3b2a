"""`constraints:` in a study: Optuna 5 constraint values on every finished trial, infeasible
trials marked and never best, never on the Pareto front, and counted in the summary. Real tiny
studies on the synthetic digits; the no-feasible-trial case on a hand-built in-memory study."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from src.config.constraints import Bound, constraint_values, describe_violation
from src.config.search_space import ParamRange
from src.config.tune import TuneConfig
from src.tune import main
from src.tuning.constraints import feasibility
from src.tuning.results import best_trials
from tests.helpers import load_study, runs_of

SMALL, LARGE = 784 * 8 + 8 + 8 * 10 + 10, 784 * 64 + 64 + 64 * 10 + 10  # 6370, 50890 params
GRID = {"name": "grid", "seed": 0}
WIDTHS = {"model.hidden_dims": {"choices": [[8], [64]]}}


def test_a_bound_becomes_value_minus_bound_per_end() -> None:
    bounds = {"params": Bound(min=1000, max=300000), "latency_ms": Bound(max=0.5)}
    values = constraint_values(bounds, {"params": 312000, "latency_ms": 0.25})
    assert values == {"params.max": 12000.0, "params.min": -311000.0, "latency_ms.max": -0.25}
    assert describe_violation("params.max", 12000.0, bounds) == "params 3.12e+05 > 3e+05"


@pytest.fixture(scope="module")
def single(new_study):
    """Two trials, 8 and 64 hidden units, with params <= 20000: the wide one is infeasible."""
    path = new_study(
        "constrained",
        epochs=1,  # these tests read constraints, not accuracy
        search_space=WIDTHS,
        sampler=GRID,
        n_trials=2,
        constraints={"params": {"max": 20000}, "latency_ms": {"max": 10000}},
    )
    assert main(["--config", str(path)]) == 0
    return path, load_study(path)


def test_every_finished_trial_carries_its_constraint_values(single) -> None:
    _, study = single
    by_width = {t.params["model.hidden_dims"]: t for t in study.trials}
    assert by_width["[8]"].constraints["params.max"] == SMALL - 20000
    assert by_width["[64]"].constraints["params.max"] == LARGE - 20000
    # latency_ms is measured because a constraint reads it (no latency objective here)
    assert all(t.constraints["latency_ms.max"] < 0 for t in study.trials)


def test_an_infeasible_trial_is_marked_and_never_the_best(single) -> None:
    path, study = single
    by_width = {t.params["model.hidden_dims"]: t for t in study.trials}
    assert by_width["[64]"].user_attrs["feasible"] is False
    assert by_width["[64]"].user_attrs["constraint_violations"] == ["params 5.089e+04 > 2e+04"]
    assert by_width["[8]"].user_attrs["feasible"] is True
    assert study.best_trial.number == by_width["[8]"].number
    best = yaml_load(path.parent / "best" / "best-constrained.yaml")
    assert best["model"]["hidden_dims"] == [8]


def test_the_parent_run_counts_infeasible_trials_and_trial_runs_say_which(
    single, mlflow_store
) -> None:
    (parent,) = runs_of(mlflow_store, "constrained", "study")
    assert parent.data.metrics["trials_infeasible"] == 1
    tags = sorted(
        r.data.tags["trial_feasible"] for r in runs_of(mlflow_store, "constrained", "trial")
    )
    assert tags == ["false", "true"]


def test_the_summary_says_how_many_trials_were_infeasible(new_study, mlflow_store, capsys) -> None:
    path = new_study(
        "pareto-constrained",
        epochs=1,
        search_space=WIDTHS,
        objectives=["val_acc", "param_count"],
        sampler=GRID,
        n_trials=2,
        constraints={"params": {"max": 20000}},
    )
    assert main(["--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 complete trials infeasible (params.max: 1)" in out
    front = load_study(path).best_trials
    assert front and all(t.values[1] <= 20000 for t in front)


def test_with_no_feasible_trial_there_is_no_best_and_the_closest_is_named() -> None:
    cfg = TuneConfig(
        search_space={"model.dropout": ParamRange(low=0.0, high=0.5)},
        constraints={"params": Bound(max=1000)},
    )
    study = optuna.create_study(direction="maximize")
    for value, over in ((0.9, 5000.0), (0.8, 100.0)):
        study.add_trial(
            optuna.trial.create_trial(
                value=value,
                params={"model.dropout": 0.1},
                distributions={"model.dropout": FloatDistribution(0.0, 0.5)},
                system_attrs={"constraints:params.max": over},
                user_attrs={"constraint_violations": [f"params {1000 + over:.4g} > 1000"]},
            )
        )
    assert best_trials(study, cfg) == []
    verdict = feasibility(study, cfg)
    assert verdict.sentence() == "2 of 2 complete trials infeasible (params.max: 2)"
    assert verdict.closest == "the closest was #1 (params 1100 > 1000)"
    assert all(t.state == TrialState.COMPLETE for t in study.trials)


def yaml_load(path):
    import yaml

    return yaml.safe_load(path.read_text())
