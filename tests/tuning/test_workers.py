"""src/tuning/workers.py: a worker opens the study with its own sampler and runs trials until the
study holds exactly n_trials finished ones. Trivial objectives on real journal studies."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

from src.config.search_space import ParamRange
from src.config.tune import PrunerConfig, SamplerConfig, TuneConfig
from src.errors import UsageError
from src.runtime.signals import RunInterrupted, signals_deferred
from src.tuning.search import sample
from src.tuning.storage import WORKER_ATTR, StorageLocation, worker_id
from src.tuning.workers import open_study, run_trials

SPACE = {"model.dropout": ParamRange(low=0.0, high=0.5, step=0.25)}  # a grid of 3 points


def study_config(**changes) -> TuneConfig:
    fields = {
        "study_name": "work",
        "search_space": SPACE,
        "sampler": SamplerConfig(name="random", seed=0),
        "pruner": PrunerConfig(name="none"),
        "n_trials": 3,
        **changes,
    }
    return TuneConfig(**fields)


@pytest.fixture
def cfg() -> TuneConfig:
    return study_config()


@pytest.fixture
def location(tmp_path) -> StorageLocation:
    return StorageLocation("journal", str(tmp_path / "study.log"))


@pytest.fixture
def study(cfg, location) -> optuna.Study:
    return open_study(cfg, location)


def dropout(trial: optuna.Trial) -> float:
    """A trivial objective: the sampled dropout."""
    return sample(trial, SPACE)["model.dropout"]


def run(study, cfg, location, objective=dropout, deadline=None, callbacks=()) -> list[TrialState]:
    """run_trials as one worker; the states of the study's trials after it."""
    run_trials(study, objective, cfg, location, deadline, list(callbacks))
    return [t.state for t in study.get_trials(deepcopy=False)]


def test_a_worker_runs_exactly_n_trials(study, cfg, location) -> None:
    assert run(study, cfg, location) == [TrialState.COMPLETE] * 3


def test_pruned_trials_count_as_finished(study, cfg, location) -> None:
    def pruned(trial):
        raise optuna.TrialPruned

    assert run(study, cfg, location, pruned) == [TrialState.PRUNED] * 3


def test_a_study_that_holds_n_trials_already_runs_no_more(study, cfg, location) -> None:
    run(study, cfg, location)
    assert run(study, cfg, location) == [TrialState.COMPLETE] * 3


def test_raising_n_trials_resumes_the_study_up_to_it(study, cfg, location) -> None:
    run(study, cfg, location)
    more = dataclasses.replace(cfg, n_trials=5)
    assert run(open_study(more, location), more, location) == [TrialState.COMPLETE] * 5


def test_failed_trials_do_not_count_as_finished(study, cfg, location) -> None:
    def fails_once(trial):
        if trial.number == 0:
            raise RuntimeError("flaky")
        return dropout(trial)

    assert run(study, cfg, location, fails_once) == [TrialState.FAIL] + [TrialState.COMPLETE] * 3


def test_a_worker_stops_after_n_trials_failures_of_its_own(study, cfg, location) -> None:
    def always_fails(trial):
        raise RuntimeError("broken")

    assert run(study, cfg, location, always_fails) == [TrialState.FAIL] * 3


def test_no_trial_starts_after_the_deadline(study, cfg, location) -> None:
    assert run(study, cfg, location, deadline=time.time() - 1) == []


def test_a_worker_stops_when_the_grid_is_exhausted(location) -> None:
    cfg = study_config(sampler=SamplerConfig(name="grid"), n_trials=10)
    assert run(open_study(cfg, location), cfg, location) == [TrialState.COMPLETE] * 3


def test_the_callbacks_see_every_trial(study, cfg, location) -> None:
    seen = []
    run(study, cfg, location, callbacks=[lambda study, trial: seen.append(trial.number)])
    assert seen == [0, 1, 2]


def test_a_worker_waits_for_a_running_trial_instead_of_starting_one_more(
    study, cfg, location
) -> None:
    cfg = dataclasses.replace(cfg, n_trials=1)
    trial = study.ask()  # another live worker's trial, the one the study needs
    trial.set_user_attr(WORKER_ATTR, worker_id())
    threading.Timer(0.5, study.tell, (trial.number, 0.9)).start()
    assert run(study, cfg, location) == [TrialState.COMPLETE]


def test_a_dead_workers_trial_is_run_again_and_counted_once(study, cfg, location) -> None:
    cfg = dataclasses.replace(cfg, n_trials=1)
    process = subprocess.Popen(["true"])
    process.wait()
    trial = study.ask()
    dropout(trial)
    trial.set_user_attr(WORKER_ATTR, f"{worker_id().rpartition(':')[0]}:{process.pid}")
    assert run(study, cfg, location) == [TrialState.FAIL, TrialState.COMPLETE]
    assert study.trials[1].params == study.trials[0].params


def test_a_signal_during_a_trial_stops_the_worker_once_the_trial_is_done(
    study, cfg, location, signal_handlers
) -> None:
    def interrupted(trial):
        os.kill(os.getpid(), signal.SIGTERM)  # recorded, not raised inside Optuna's bookkeeping
        return dropout(trial)

    with signals_deferred(), pytest.raises(RunInterrupted) as stop:
        run(study, cfg, location, interrupted)
    assert stop.value.exit_code == 143
    assert [t.state for t in study.trials] == [TrialState.COMPLETE]


def test_open_study_creates_the_study_with_the_configured_directions(location) -> None:
    cfg = study_config(sampler=SamplerConfig(name="nsga2"), objectives=["val_acc", "latency_ms"])
    study = open_study(cfg, location)
    assert study.study_name == "work"
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]


def test_open_study_uses_the_configured_sampler_and_pruner(location) -> None:
    cfg = study_config(sampler=SamplerConfig(name="tpe"), pruner=PrunerConfig(name="median"))
    study = open_study(cfg, location)
    assert isinstance(study.sampler, optuna.samplers.TPESampler)
    assert isinstance(study.pruner, optuna.pruners.MedianPruner)


def test_open_study_loads_an_existing_study(study, cfg, location) -> None:
    run(study, cfg, location)
    assert len(open_study(cfg, location).trials) == 3


def test_a_study_config_with_other_objectives_than_the_stored_study_is_refused(
    study, location
) -> None:
    cfg = study_config(sampler=SamplerConfig(name="nsga2"), objectives=["val_acc", "param_count"])
    with pytest.raises(UsageError, match="already exists with directions"):
        open_study(cfg, location)


def params_of_a_fresh_study(cfg, location, worker_index: int) -> list[dict]:
    study = open_study(cfg, location, worker_index)
    run(study, cfg, location)
    return [t.params for t in study.trials]


def test_a_fresh_study_run_by_one_worker_is_reproducible(cfg, tmp_path) -> None:
    first, second = (
        params_of_a_fresh_study(cfg, StorageLocation("journal", str(tmp_path / name)), 0)
        for name in ("a.log", "b.log")
    )
    assert first == second


def test_a_second_worker_does_not_replay_the_first_workers_samples(cfg, tmp_path) -> None:
    first, second = (
        params_of_a_fresh_study(cfg, StorageLocation("journal", str(tmp_path / f"{i}.log")), i)
        for i in (0, 1)
    )
    assert first != second
