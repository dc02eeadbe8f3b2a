"""src/tuning/samplers.py: Optuna's samplers and pruners by name, and each worker's seed."""

from __future__ import annotations

import socket

import optuna
import pytest

from src.config.names import MEMBER_PRUNERS, PrunerName, SamplerName, names_of
from src.config.repeats import RepeatsConfig
from src.config.search_space import ParamRange
from src.config.tune import PrunerConfig, SamplerConfig, TuneConfig
from src.tuning.samplers import make_pruner, make_sampler, sampler_seed
from src.tuning.search import sample
from src.tuning.storage import StorageLocation

JOURNAL = StorageLocation("journal", "mlruns/optuna-journal.log")
DATABASE = StorageLocation("database", "postgresql+psycopg2://user@host/optuna")
SAMPLER_TYPES = {
    "tpe": optuna.samplers.TPESampler,
    "random": optuna.samplers.RandomSampler,
    "grid": optuna.samplers.GridSampler,
    "nsga2": optuna.samplers.NSGAIISampler,
    "gp": optuna.samplers.GPSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
}
PRUNER_TYPES = {
    "median": optuna.pruners.MedianPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "threshold": optuna.pruners.ThresholdPruner,
    "wilcoxon": optuna.pruners.WilcoxonPruner,
    "none": optuna.pruners.NopPruner,
}


def study_config(
    sampler: str = "tpe", pruner: str = "median", objectives: tuple[str, ...] = ("val_acc",)
) -> TuneConfig:
    """A study of model.dropout in steps of 0.1 (a grid of 6 points)."""
    return TuneConfig(
        search_space={"model.dropout": ParamRange(low=0.0, high=0.5, step=0.1)},
        sampler=SamplerConfig(name=sampler),
        pruner=PrunerConfig(name=pruner, lower=0.5 if pruner == "threshold" else None),
        objectives=list(objectives),
        repeats=RepeatsConfig(seeds=3 if pruner in MEMBER_PRUNERS else 0),  # what they need
    )


def test_the_tables_above_cover_every_configurable_name() -> None:
    assert set(SAMPLER_TYPES) == set(names_of(SamplerName))
    assert set(PRUNER_TYPES) == set(names_of(PrunerName))


@pytest.mark.parametrize("name", sorted(SAMPLER_TYPES))
def test_make_sampler_gives_the_named_sampler(name) -> None:
    assert type(make_sampler(study_config(sampler=name), seed=0)) is SAMPLER_TYPES[name]


def test_the_sampler_draws_the_same_values_from_the_same_seed() -> None:
    cfg = study_config(sampler="random")
    draws = []
    for _ in range(2):
        study = optuna.create_study(sampler=make_sampler(cfg, seed=3))
        study.optimize(lambda trial: sample(trial, cfg.search_space)["model.dropout"], n_trials=3)
        draws.append([t.params for t in study.trials])
    assert draws[0] == draws[1]


def test_the_grid_sampler_walks_the_grid_of_the_search_space_and_stops() -> None:
    cfg = study_config(sampler="grid")
    study = optuna.create_study(sampler=make_sampler(cfg, seed=0))
    study.optimize(lambda trial: sample(trial, cfg.search_space)["model.dropout"], n_trials=20)
    dropouts = sorted(t.params["model.dropout"] for t in study.trials)
    assert dropouts == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


@pytest.mark.parametrize("name", sorted(PRUNER_TYPES))
def test_make_pruner_gives_the_named_pruner(name) -> None:
    assert type(make_pruner(study_config(pruner=name))) is PRUNER_TYPES[name]


@pytest.mark.parametrize("name", sorted(set(PRUNER_TYPES) - {"none", *MEMBER_PRUNERS}))
def test_a_multi_objective_study_is_never_pruned(name) -> None:
    cfg = study_config(sampler="nsga2", pruner=name, objectives=("val_acc", "param_count"))
    assert type(make_pruner(cfg)) is optuna.pruners.NopPruner


@pytest.mark.parametrize(("worker", "trials"), [(0, 0), (1, 3)])
@pytest.mark.parametrize("location", [JOURNAL, DATABASE], ids=["journal", "database"])
def test_no_seed_means_no_seed_for_any_worker(location, worker, trials) -> None:
    assert sampler_seed(None, worker, trials, location) is None


def test_a_fresh_study_run_by_one_worker_takes_the_seed_itself() -> None:
    assert sampler_seed(7, worker_index=0, existing_trials=0, location=JOURNAL) == 7


def test_parallel_workers_take_different_seeds() -> None:
    seeds = [sampler_seed(7, worker, 0, JOURNAL) for worker in range(4)]
    assert seeds[0] == 7 and len(set(seeds)) == 4


def test_a_resumed_study_takes_a_seed_of_its_own() -> None:
    seeds = {sampler_seed(7, 0, trials, JOURNAL) for trials in (0, 5, 6)}
    assert len(seeds) == 3


def test_the_salted_seed_is_the_same_for_the_same_worker_and_study() -> None:
    assert sampler_seed(7, 2, 5, JOURNAL) == sampler_seed(7, 2, 5, JOURNAL)


def test_on_a_database_even_the_first_worker_of_a_fresh_study_is_salted() -> None:
    assert sampler_seed(7, 0, 0, DATABASE) != 7


def test_on_a_database_workers_on_two_machines_take_different_seeds(monkeypatch) -> None:
    seeds = []
    for host in ("node-a", "node-b"):
        monkeypatch.setattr(socket, "gethostname", lambda host=host: host)
        seeds.append(sampler_seed(7, 0, 0, DATABASE))
    assert seeds[0] != seeds[1]


@pytest.mark.parametrize("location", [JOURNAL, DATABASE], ids=["journal", "database"])
def test_salted_seeds_are_valid_32_bit_seeds(location) -> None:
    seeds = [sampler_seed(2**32 - 1, worker, 9, location) for worker in range(8)]
    assert all(0 <= seed < 2**32 for seed in seeds)
