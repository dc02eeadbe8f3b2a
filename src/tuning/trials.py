"""What every trial records beyond its objective: its worker, its MLflow parent run and why it
failed, with its final Optuna state written onto its MLflow run; and failed trials whose reason is
written for users log one line, not a traceback."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

from src.config.tune import TuneConfig
from src.errors import EXPECTED_ERRORS, ConfigError, UsageError, one_line
from src.runtime.signals import RunInterrupted
from src.tracking.owners import close_dead_runs, close_run
from src.tracking.runs import log_params, log_tags
from src.tracking.store import ensure_experiment, resolve_tracking_uri, use_store
from src.tuning.monitor import NonFiniteLoss, StudyTimeout
from src.tuning.storage import WORKER_ATTR, worker_id


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

    if trial.user_attrs.get("surplus"):
        return
    client = use_store(resolve_tracking_uri(cfg.train.mlflow.tracking_uri))
    tags = {"trial_state": state.name}
    if "feasible" in trial.user_attrs:  # with constraints (src/tuning/constraints.py)
        tags["trial_feasible"] = str(trial.user_attrs["feasible"]).lower()
    reason = trial.user_attrs.get("fail_reason") or trial.user_attrs.get("stop_reason")
    if reason:
        tags["trial_state_reason"] = reason
    run_id = trial.user_attrs.get("mlflow_run_id")
    if run_id is None:
        experiment_id = ensure_experiment(client, cfg.train.mlflow.experiment_name)
        run_name = f"{cfg.study_name}-trial-{trial.number}"
        run = client.create_run(experiment_id, run_name=run_name, tags=trial_tags(cfg, trial))
        run_id = run.info.run_id
        log_params(client, run_id, {k: str(v) for k, v in trial.params.items()})
        client.set_terminated(run_id, stand_in_status)
    log_tags(client, run_id, tags)
    if state == TrialState.PRUNED:
        client.set_terminated(run_id, "KILLED")
    elif state == TrialState.FAIL and client.get_run(run_id).info.status == "FINISHED":
        client.set_terminated(run_id, "FAILED")  # fit stopped cleanly on a non-finite loss


def quiet_expected_failures(debug: bool) -> None:
    """Failed trials with a reason written for users (a rejected sampled value, a nan loss) log
    one line, not a traceback; unexpected errors keep theirs."""
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    if not debug:
        logging.getLogger("optuna.study._optimize").addFilter(_drop_expected_traceback)


def _drop_expected_traceback(record: logging.LogRecord) -> bool:
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


def close_runs_of_failed_trials(cfg: TuneConfig, trials: list) -> None:
    """Optuna failed these trials because their worker is gone: their MLflow runs are closed in
    the same step (KILLED, tagged FAIL), and so is each dead invocation's parent run."""
    if not trials:
        return
    client = use_store(resolve_tracking_uri(cfg.train.mlflow.tracking_uri))
    for trial in trials:
        run_id = trial.user_attrs.get("mlflow_run_id")
        worker = trial.user_attrs.get(WORKER_ATTR, "an unknown worker")
        reason = f"trial {trial.number} failed by Optuna: its worker {worker} is gone"
        if run_id:  # closed here, or already by a sweep of the store that saw its owner gone
            close_run(client, run_id, reason)
            log_tags(client, run_id, {"trial_state": "FAIL", "trial_state_reason": reason})
    parents = [t.user_attrs.get("mlflow_parent_run_id") for t in trials]
    close_dead_runs(client, run_ids=[p for p in parents if p])
