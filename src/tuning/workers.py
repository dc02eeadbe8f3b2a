"""How a study's trials get run: workers (this process, or N spawned processes sharing the
machine's cores) each open the study with their own sampler seed and start trials until it holds
exactly n_trials finished ones."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from src.config.tune import TuneConfig
from src.runtime.signals import RunInterrupted, raise_if_interrupted, signals_deferred
from src.tuning.samplers import make_pruner, make_sampler, sampler_seed
from src.tuning.stopping import stop_reason
from src.tuning.storage import (
    StorageLocation,
    create_or_load_study,
    open_storage,
    recover_dead_workers_trials,
)
from src.tuning.trials import (
    bookkept,
    close_runs_of_failed_trials,
    quiet_expected_failures,
    record_trial_run,
)

WAIT_S = 1.0  # poll interval while other workers finish the last trials


def run_trials(study, objective: Callable, cfg: TuneConfig, location, deadline, callbacks) -> None:
    """Start trials until the study holds n_trials finished (complete or pruned) ones.

    Exact with any number of workers, here or on other machines: a trial starts only while
    finished + running trials are below n_trials, and a worker waits while the last ones run,
    since a dead worker's trial comes back as a retry. Optuna's MaxTrialsCallback alone would
    overshoot: it stops a worker only after its own trial ends. A worker also stops at the
    deadline, when a grid is exhausted, after n_trials failed trials of its own, or once the
    trials in the storage meet `stop:` (src/tuning/stopping.py).
    """
    from optuna.samplers import GridSampler
    from optuna.trial import TrialState

    failures = []

    def count_failures(_, trial) -> None:
        if trial.state == TrialState.FAIL:
            failures.append(trial.number)

    callbacks = [*callbacks, count_failures]
    while deadline is None or time.time() < deadline:
        raise_if_interrupted()  # a signal recorded since the last trial (signals_deferred)
        close_runs_of_failed_trials(cfg, recover_dead_workers_trials(study, location))
        states = [t.state for t in study.get_trials(deepcopy=False)]
        finished = sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states)
        running = states.count(TrialState.RUNNING)
        exhausted = isinstance(study.sampler, GridSampler) and study.sampler.is_exhausted(study)
        if finished >= cfg.n_trials or exhausted or len(failures) >= cfg.n_trials:
            return
        if stop_reason(study, cfg) is not None:
            return
        if finished + running >= cfg.n_trials:
            time.sleep(WAIT_S)
            continue
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=callbacks)


def open_study(cfg: TuneConfig, location: StorageLocation, worker_index: int = 0):
    """The study on its storage (created on first use), with this worker's sampler and pruner."""
    import optuna

    storage = open_storage(location, cfg.heartbeat_interval, cfg.grace_period)
    try:
        existing = len(optuna.load_study(study_name=cfg.study_name, storage=storage).trials)
    except KeyError:
        existing = 0
    seed = sampler_seed(cfg.sampler.seed, worker_index, existing, location)
    return create_or_load_study(
        storage, cfg.study_name, cfg.directions, make_sampler(cfg, seed), make_pruner(cfg)
    )


def work(
    cfg: TuneConfig,
    location: StorageLocation,
    parent_run_id: str,
    worker_index: int,
    deadline: float | None,
    debug: bool = False,
) -> None:
    """One worker: run trials of the shared study until it is done (a process of its own when
    n_jobs > 1, started with spawn)."""
    # Ctrl-C/SIGTERM stop a trial's training between batches, and otherwise the worker between
    # trials: never inside Optuna's or MLflow's writes (see src/runtime/signals.py).
    with signals_deferred():
        from src.tuning.objective import make_objective

        quiet_expected_failures(debug)
        study = open_study(cfg, location, worker_index)
        objective = make_objective(cfg, processes_sharing_cpu=cfg.n_jobs, deadline=deadline)
        objective = bookkept(objective, cfg, parent_run_id)
        try:
            run_trials(study, objective, cfg, location, deadline, [record_trial_run(cfg)])
        except KeyboardInterrupt as stop:
            raise stop.__cause__ or RunInterrupted(signal.SIGINT) from None
        raise_if_interrupted()


def run_workers(cfg: TuneConfig, location, parent_run_id: str, deadline, debug: bool) -> None:
    """The study's trials in this process, or in cfg.n_jobs spawned worker processes (Ctrl-C or
    SIGTERM stops them all: src/runtime/spawned.py)."""
    if cfg.n_jobs == 1:
        work(cfg, location, parent_run_id, 0, deadline, debug)
        return
    from src.runtime.spawned import run_in_processes

    jobs = [(cfg, location, parent_run_id, index, deadline, debug) for index in range(cfg.n_jobs)]
    failed = run_in_processes(work, jobs, "tune-worker")
    if failed:
        raise RuntimeError(f"tuning workers failed (exit codes {failed}); see their errors above")
