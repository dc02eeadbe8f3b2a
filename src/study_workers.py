"""How a study's trials get run: workers (this process, or N spawned processes sharing the
machine's cores) each open the study with their own sampler seed and start trials until it holds
exactly n_trials finished ones; every trial records its worker, its MLflow parent run and why it
failed, and its final state goes onto its MLflow run."""

from __future__ import annotations

import logging
import signal
import time
import warnings
import zlib
from collections.abc import Callable

from src.cli import EXPECTED_ERRORS, UsageError, one_line
from src.config import ConfigError
from src.study_storage import StorageLocation
from src.tune_config import TuneConfig

WAIT_S = 1.0  # poll interval while other workers finish the last trials


class SurplusTrial(Exception):
    """Two workers started a trial at the same moment when one more was needed; this one yields."""


def trial_tags(cfg: TuneConfig, trial) -> dict[str, str]:
    return {
        "mlflow.parentRunId": trial.user_attrs["mlflow_parent_run_id"],
        "role": "trial",
        "study_name": cfg.study_name,
        "trial_number": str(trial.number),
        "trial_state": "RUNNING",
    }


def bookkept(objective: Callable, cfg: TuneConfig, parent_run_id: str) -> Callable:
    """The objective plus what every trial records: its worker, its MLflow parent, and why it
    failed; a trial started beyond n_trials by a race between workers yields at once."""
    import optuna
    from optuna.trial import TrialState

    from src.interrupts import RunInterrupted
    from src.study_storage import WORKER_ATTR, worker_id

    under_way = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)

    def run(trial) -> float | list[float]:
        trial.set_user_attr(WORKER_ATTR, worker_id())
        trial.set_user_attr("mlflow_parent_run_id", parent_run_id)
        trial.set_user_attr("mlflow_run_id", None)  # a retried trial's copy held the dead run's
        try:
            earlier = trial.study.get_trials(deepcopy=False, states=under_way)
            if sum(t.number < trial.number for t in earlier) >= cfg.n_trials:
                trial.set_user_attr("surplus", True)
                raise SurplusTrial(f"the study already had {cfg.n_trials} trials under way")
            return objective(trial)
        except RunInterrupted as stop:
            trial.set_user_attr("fail_reason", str(stop))
            if stop.run_id and not trial.user_attrs.get("mlflow_run_id"):  # stopped before fit
                trial.set_user_attr("mlflow_run_id", stop.run_id)
            # Optuna runs no callback on an interrupt.
            tag_trial_run(cfg, trial, TrialState.FAIL, stand_in_status="KILLED")
            raise KeyboardInterrupt from stop  # Optuna marks the trial FAIL, then re-raises
        except optuna.TrialPruned:
            raise
        except Exception as error:
            trial.set_user_attr("fail_reason", f"{type(error).__name__}: {one_line(str(error))}")
            raise

    return run


def record_trial_run(cfg: TuneConfig) -> Callable:
    """Optuna callback: the trial's final state onto its MLflow run."""
    return lambda study, trial: tag_trial_run(cfg, trial, trial.state)


def tag_trial_run(cfg: TuneConfig, trial, state, stand_in_status: str = "FAILED") -> None:
    """Tag the trial's MLflow run with its final state and reason (PRUNED also gets status
    KILLED); a trial that ended before its run began gets a child run with its params, FAILED
    (or KILLED when interrupted)."""
    from optuna.trial import TrialState

    from src import tracking

    if trial.user_attrs.get("surplus"):
        return
    client = tracking.use_store(tracking.resolve_tracking_uri(cfg.train.mlflow.tracking_uri))
    tags = {"trial_state": state.name}
    reason = trial.user_attrs.get("fail_reason") or trial.user_attrs.get("stop_reason")
    if reason:
        tags["trial_state_reason"] = reason
    run_id = trial.user_attrs.get("mlflow_run_id")
    if run_id is None:
        experiment_id = tracking.ensure_experiment(client, cfg.train.mlflow.experiment_name)
        run_name = f"{cfg.study_name}-trial-{trial.number}"
        run = client.create_run(experiment_id, run_name=run_name, tags=trial_tags(cfg, trial))
        run_id = run.info.run_id
        tracking.log_params(client, run_id, {k: str(v) for k, v in trial.params.items()})
        client.set_terminated(run_id, stand_in_status)
    tracking.log_tags(client, run_id, tags)
    if state == TrialState.PRUNED:
        client.set_terminated(run_id, "KILLED")
    elif state == TrialState.FAIL and client.get_run(run_id).info.status == "FINISHED":
        client.set_terminated(run_id, "FAILED")  # fit stopped cleanly on a non-finite loss


def run_trials(study, objective: Callable, cfg: TuneConfig, location, deadline, callbacks) -> None:
    """Start trials until the study holds n_trials finished (complete or pruned) ones.

    Exact with any number of workers, here or on other machines: a trial starts only while
    finished + running trials are below n_trials, and a worker waits while the last ones run,
    since a dead worker's trial comes back as a retry. Optuna's MaxTrialsCallback alone would
    overshoot: it stops a worker only after its own trial ends. A worker also stops at the
    deadline, when a grid is exhausted, or after n_trials failed trials of its own.
    """
    from optuna.samplers import GridSampler
    from optuna.trial import TrialState

    from src.interrupts import raise_if_interrupted
    from src.study_storage import recover_dead_workers_trials

    failures = []

    def count_failures(_, trial) -> None:
        if trial.state == TrialState.FAIL:
            failures.append(trial.number)

    callbacks = [*callbacks, count_failures]
    while deadline is None or time.time() < deadline:
        raise_if_interrupted()  # a signal recorded since the last trial (signals_deferred)
        recover_dead_workers_trials(study, location)
        states = [t.state for t in study.get_trials(deepcopy=False)]
        finished = sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states)
        running = states.count(TrialState.RUNNING)
        exhausted = isinstance(study.sampler, GridSampler) and study.sampler.is_exhausted(study)
        if finished >= cfg.n_trials or exhausted or len(failures) >= cfg.n_trials:
            return
        if finished + running >= cfg.n_trials:
            time.sleep(WAIT_S)
            continue
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=callbacks)


def open_study(cfg: TuneConfig, location: StorageLocation, worker_index: int = 0):
    """The study on its storage (created on first use), with this worker's sampler and pruner."""
    import optuna

    from src import study_storage

    storage = study_storage.open_storage(location, cfg.heartbeat_interval, cfg.grace_period)
    try:
        existing = len(optuna.load_study(study_name=cfg.study_name, storage=storage).trials)
    except KeyError:
        existing = 0
    seed = sampler_seed(cfg.sampler.seed, worker_index, existing, location)
    return study_storage.open_study(
        storage, cfg.study_name, cfg.directions, make_sampler(cfg, seed), make_pruner(cfg)
    )


def sampler_seed(
    seed: int | None, worker_index: int, existing_trials: int, location: StorageLocation
) -> int | None:
    """`seed` itself for a fresh study run by one worker (reproducible); otherwise a seed salted
    with the worker index and the trials already there, so that parallel workers and resumed
    studies do not replay the same samples, and on a shared database also with host and PID,
    since workers on several machines start alike."""
    if seed is None:
        return None
    if worker_index == 0 and existing_trials == 0 and location.kind == "journal":
        return seed
    from src.study_storage import worker_id

    salt = f"{seed}:{worker_index}:{existing_trials}"
    if location.kind == "database":
        salt += f":{worker_id()}"
    return zlib.crc32(salt.encode())


def make_sampler(cfg: TuneConfig, seed: int | None):
    import optuna

    from src.search_space import grid

    s = cfg.sampler
    if s.name == "grid":
        return optuna.samplers.GridSampler(grid(cfg.search_space), seed=seed)
    if s.name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if s.name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=s.population_size)
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=s.n_startup_trials, multivariate=True
    )


def make_pruner(cfg: TuneConfig):
    import optuna

    p = cfg.pruner
    if cfg.multi_objective or p.name == "none":
        return optuna.pruners.NopPruner()
    if p.name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps
        )
    if p.name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=p.min_resource,
            max_resource=cfg.train.trainer.max_epochs,
            reduction_factor=p.reduction_factor,
        )
    if p.name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=p.min_resource, reduction_factor=p.reduction_factor
        )
    return optuna.pruners.ThresholdPruner(lower=p.lower, n_warmup_steps=p.n_warmup_steps)


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
    from src.interrupts import RunInterrupted, raise_if_interrupted, signals_deferred

    # Ctrl-C/SIGTERM stop a trial's training between batches, and otherwise the worker between
    # trials: never inside Optuna's or MLflow's writes (see src/interrupts.py).
    with signals_deferred():
        from src.tune import make_objective

        quiet_expected_failures(debug)
        study = open_study(cfg, location, worker_index)
        objective = make_objective(cfg, processes_sharing_cpu=cfg.n_jobs, deadline=deadline)
        objective = bookkept(objective, cfg, parent_run_id)
        try:
            run_trials(study, objective, cfg, location, deadline, [record_trial_run(cfg)])
        except KeyboardInterrupt as stop:
            raise stop.__cause__ or RunInterrupted(signal.SIGINT) from None
        raise_if_interrupted()


def _worker_process(cfg, location, parent_run_id, index, deadline, debug) -> None:
    """Entry point of a spawned worker: an error ends it with one line and a non-zero exit."""
    import sys

    from src.interrupts import install_signal_handlers

    install_signal_handlers()  # Ctrl-C/SIGTERM end the trial's run as KILLED, then the worker
    try:
        work(cfg, location, parent_run_id, index, deadline, debug)
    except BaseException as error:
        print(f"error: worker {index}: {one_line(str(error))}", file=sys.stderr)
        sys.exit(getattr(error, "exit_code", 1))


def run_workers(cfg: TuneConfig, location, parent_run_id: str, deadline, debug: bool) -> None:
    if cfg.n_jobs == 1:
        work(cfg, location, parent_run_id, 0, deadline, debug)
        return
    import multiprocessing

    from src.interrupts import RunInterrupted

    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_worker_process,
            args=(cfg, location, parent_run_id, index, deadline, debug),
            name=f"tune-worker-{index}",
        )
        for index in range(cfg.n_jobs)
    ]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join()
    except BaseException as stop:  # Ctrl-C or SIGTERM here: stop the workers too, then report
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: Lightning ends fit at the next batch
        for worker in workers:
            worker.join()
        if isinstance(stop, KeyboardInterrupt):
            raise RunInterrupted(signal.SIGINT) from None
        raise
    failed = {w.name: w.exitcode for w in workers if w.exitcode != 0}
    if failed:
        raise RuntimeError(f"tuning workers failed (exit codes {failed}); see their errors above")


def quiet_expected_failures(debug: bool) -> None:
    """Failed trials with a reason written for users (a rejected sampled value, a nan loss) log
    one line, not a traceback; unexpected errors keep theirs."""
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    if not debug:
        logging.getLogger("optuna.study._optimize").addFilter(_drop_expected_traceback)


def _drop_expected_traceback(record: logging.LogRecord) -> bool:
    from src.trial_monitor import NonFiniteLoss, StudyTimeout

    error = record.exc_info[1] if record.exc_info else None
    # KeyboardInterrupt: a trial stopped by Ctrl-C/SIGTERM (see run above); its run says KILLED.
    expected = (
        ConfigError,
        UsageError,
        NonFiniteLoss,
        StudyTimeout,
        SurplusTrial,
        KeyboardInterrupt,
    )
    if isinstance(error, expected) or type(error).__name__ in EXPECTED_ERRORS:
        record.exc_info = None
    return True
