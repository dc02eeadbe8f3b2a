"""The sampler benchmark's measurements on hand-built studies (no training): the hypervolume of
a front at the fixed reference point, the best value after n finished trials, and the table."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from benchmarks import bench_samplers

DISTRIBUTIONS = {"model.dropout": FloatDistribution(0.0, 0.5)}


def add(study: optuna.Study, state=TrialState.COMPLETE, **values) -> None:
    study.add_trial(
        optuna.trial.create_trial(
            state=state, params={"model.dropout": 0.1}, distributions=DISTRIBUTIONS, **values
        )
    )


def test_the_hypervolume_is_the_area_the_front_dominates_inside_the_reference_box() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    add(study, values=[0.9, 1e4])  # on the front
    add(study, values=[0.8, 1e5])  # dominated by the first
    add(study, values=[0.3, 10.0])  # 70% error: outside the box (reference error 0.6)
    error, log_params = bench_samplers.REFERENCE
    expected = (error - 0.1) * (log_params - 4.0)
    assert bench_samplers.hypervolume(study) == pytest.approx(expected)


def test_best_after_counts_finished_trials_so_a_retried_failure_does_not_shift_it() -> None:
    study = optuna.create_study(direction="maximize")
    add(study, value=0.5)
    add(study, state=TrialState.FAIL)  # its retry comes next
    add(study, value=0.7)
    add(study, state=TrialState.PRUNED)
    add(study, value=0.9)
    assert bench_samplers.best_after(study, 2) == 0.7
    assert bench_samplers.best_after(study, 3) == 0.7
    assert bench_samplers.best_after(study, 4) == 0.9


def test_the_table_gives_median_and_range_per_sampler_over_its_seeds() -> None:
    studies = [
        {"sampler": "tpe", "seed": s, "hypervolume": v, "wall_s": 1.0}
        for s, v in enumerate((0.7, 0.9, 0.8))
    ]
    results = {
        "pareto": {
            "n_trials": 24,
            "reference_point": (0.6, math.log10(2e6)),
            "arms": bench_samplers.aggregate(studies, ("hypervolume",)),
        }
    }
    assert "| tpe | 0.8000 (0.7000-0.9000) | 0, 1, 2 | 3 |" in bench_samplers.markdown(results)
