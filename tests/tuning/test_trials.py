"""src/tuning/trials.py: what every trial records, its final Optuna state written onto its MLflow
run, and failed trials with a reason written for users logged without a traceback. Real in-memory
Optuna studies; MLflow runs in the session's sqlite store, one experiment per test."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import signal
import uuid

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from src.config.search_space import ParamRange
from src.config.tracking import MlflowConfig
from src.config.train import TrainConfig
from src.config.tune import TuneConfig
from src.errors import ConfigError, UsageError
from src.runtime.signals import RunInterrupted
from src.tracking.store import ensure_experiment, use_store
from src.tuning import trials
from src.tuning.monitor import NonFiniteLoss, StudyTimeout
from src.tuning.storage import WORKER_ATTR, worker_id
from src.tuning.trials import SurplusTrial, bookkept, quiet_expected_failures, tag_trial_run

PARENT = "parent-run-id"


@pytest.fixture
def cfg(mlflow_store: str) -> TuneConfig:
    experiment = f"trials-{uuid.uuid4().hex[:8]}"
    mlflow = MlflowConfig(experiment_name=experiment, tracking_uri=mlflow_store)
    return TuneConfig(
        train=TrainConfig(mlflow=mlflow),
        study_name="unit",
        search_space={"model.dropout": ParamRange(low=0.0, high=0.5)},
        n_trials=1,
    )


@pytest.fixture
def client(cfg: TuneConfig) -> MlflowClient:
    return use_store(cfg.train.mlflow.tracking_uri)


@pytest.fixture
def experiment_id(client: MlflowClient, cfg: TuneConfig) -> str:
    return ensure_experiment(client, cfg.train.mlflow.experiment_name)


@pytest.fixture
def trial() -> optuna.Trial:
    """Trial 0 of an in-memory study, under way, with one sampled param."""
    trial = optuna.create_study().ask()
    trial.suggest_float("model.dropout", 0.0, 0.5)
    trial.set_user_attr("mlflow_parent_run_id", PARENT)
    return trial


@pytest.fixture
def trial_run(client, experiment_id, trial) -> str:
    """The trial's own MLflow run, which its training ended FINISHED."""
    run_id = client.create_run(experiment_id).info.run_id
    client.set_terminated(run_id, "FINISHED")
    trial.set_user_attr("mlflow_run_id", run_id)
    return run_id


def trial_runs(client: MlflowClient, experiment_id: str) -> list:
    return client.search_runs([experiment_id], "tags.role = 'trial'")


def test_trial_tags_name_the_study_the_trial_and_its_parent(cfg, trial) -> None:
    assert trials.trial_tags(cfg, trial) == {
        "mlflow.parentRunId": PARENT,
        "role": "trial",
        "study_name": "unit",
        "trial_number": "0",
        "trial_state": "RUNNING",
    }


def test_a_completed_trial_tags_its_run_and_leaves_it_finished(
    cfg, client, trial, trial_run
) -> None:
    tag_trial_run(cfg, trial, TrialState.COMPLETE)
    run = client.get_run(trial_run)
    assert (run.data.tags["trial_state"], run.info.status) == ("COMPLETE", "FINISHED")
    assert "trial_state_reason" not in run.data.tags


def test_the_fail_reason_is_written_onto_the_run(cfg, client, trial, trial_run) -> None:
    trial.set_user_attr("fail_reason", "NonFiniteLoss: val/loss is nan")
    tag_trial_run(cfg, trial, TrialState.FAIL)
    assert client.get_run(trial_run).data.tags["trial_state_reason"] == (
        "NonFiniteLoss: val/loss is nan"
    )


def test_without_a_fail_reason_the_stop_reason_is_written(cfg, client, trial, trial_run) -> None:
    trial.set_user_attr("stop_reason", "pruned at epoch 1")
    tag_trial_run(cfg, trial, TrialState.PRUNED)
    assert client.get_run(trial_run).data.tags["trial_state_reason"] == "pruned at epoch 1"


def test_a_pruned_trial_ends_its_run_killed(cfg, client, trial, trial_run) -> None:
    tag_trial_run(cfg, trial, TrialState.PRUNED)
    run = client.get_run(trial_run)
    assert (run.data.tags["trial_state"], run.info.status) == ("PRUNED", "KILLED")


def test_a_failed_trial_whose_fit_ended_cleanly_ends_its_run_failed(
    cfg, client, trial, trial_run
) -> None:
    tag_trial_run(cfg, trial, TrialState.FAIL)
    assert client.get_run(trial_run).info.status == "FAILED"


def test_a_failed_trial_keeps_a_killed_run_killed(cfg, client, trial, trial_run) -> None:
    client.set_terminated(trial_run, "KILLED")
    tag_trial_run(cfg, trial, TrialState.FAIL)
    assert client.get_run(trial_run).info.status == "KILLED"


def test_a_trial_that_ended_before_its_run_began_gets_a_stand_in_child_run(
    cfg, client, experiment_id, trial
) -> None:
    trial.set_user_attr("fail_reason", "ConfigError: data.batch_size=0 is not allowed")
    tag_trial_run(cfg, trial, TrialState.FAIL)
    (run,) = trial_runs(client, experiment_id)
    assert (run.info.run_name, run.info.status) == ("unit-trial-0", "FAILED")
    assert run.data.params == {"model.dropout": str(trial.params["model.dropout"])}
    assert run.data.tags["mlflow.parentRunId"] == PARENT
    assert (run.data.tags["trial_state"], run.data.tags["trial_state_reason"]) == (
        "FAIL",
        "ConfigError: data.batch_size=0 is not allowed",
    )


def test_an_interrupted_trial_without_a_run_gets_a_killed_stand_in(
    cfg, client, experiment_id, trial
) -> None:
    tag_trial_run(cfg, trial, TrialState.FAIL, stand_in_status="KILLED")
    (run,) = trial_runs(client, experiment_id)
    assert run.info.status == "KILLED"


def test_a_surplus_trial_writes_nothing(cfg, client, experiment_id, trial) -> None:
    trial.set_user_attr("surplus", True)
    tag_trial_run(cfg, trial, TrialState.FAIL)
    assert trial_runs(client, experiment_id) == []


def test_a_bookkept_trial_records_its_worker_and_parent_run(cfg) -> None:
    study = optuna.create_study()
    study.optimize(bookkept(lambda trial: 0.5, cfg, PARENT), n_trials=1)
    attrs = study.trials[0].user_attrs
    assert (attrs[WORKER_ATTR], attrs["mlflow_parent_run_id"]) == (worker_id(), PARENT)
    assert attrs["mlflow_run_id"] is None


def test_a_bookkept_trial_that_raises_records_why_in_one_line(cfg) -> None:
    def objective(trial):
        raise ValueError("the loss\n  diverged")

    study = optuna.create_study()
    study.optimize(bookkept(objective, cfg, PARENT), n_trials=1, catch=(Exception,))
    assert study.trials[0].state == TrialState.FAIL
    assert study.trials[0].user_attrs["fail_reason"] == "ValueError: the loss diverged"


def test_a_trial_started_beyond_n_trials_yields_without_running(cfg) -> None:
    study = optuna.create_study()
    study.tell(study.ask(), 0.5)  # the one trial the study needs
    ran = []
    objective = bookkept(lambda trial: ran.append(trial) or 0.5, cfg, PARENT)
    study.optimize(objective, n_trials=1, catch=(SurplusTrial,))
    surplus = study.trials[1]
    assert (ran, surplus.state, surplus.user_attrs["surplus"]) == ([], TrialState.FAIL, True)


def test_an_interrupted_bookkept_trial_fails_and_kills_its_stand_in_run(
    cfg, client, experiment_id
) -> None:
    def objective(trial):
        raise RunInterrupted(signal.SIGTERM)

    study = optuna.create_study()
    with pytest.raises(KeyboardInterrupt) as stop:
        study.optimize(bookkept(objective, cfg, PARENT), n_trials=1)
    assert isinstance(stop.value.__cause__, RunInterrupted)
    assert study.trials[0].state == TrialState.FAIL
    assert study.trials[0].user_attrs["fail_reason"] == "interrupted by SIGTERM"
    (run,) = trial_runs(client, experiment_id)
    assert (run.info.status, run.data.tags["trial_state"]) == ("KILLED", "FAIL")


@pytest.fixture
def optimize_log():
    """What Optuna's trial loop logs; the filter quiet_expected_failures adds is removed after."""
    logger = logging.getLogger("optuna.study._optimize")
    handler = logging.handlers.BufferingHandler(capacity=1000)
    logger.addHandler(handler)
    yield handler.buffer
    logger.removeHandler(handler)
    logger.removeFilter(trials._drop_expected_traceback)


def failure_record(log: list, error: BaseException) -> logging.LogRecord:
    """The warning Optuna logs for a trial that raised `error`."""

    def objective(trial):
        raise error

    study = optuna.create_study()
    with contextlib.suppress(KeyboardInterrupt):  # Optuna logs it, then re-raises
        study.optimize(objective, n_trials=1, catch=(Exception,))
    (record,) = [r for r in log if "because of the following error" in r.getMessage()]
    return record


EXPECTED = [
    ConfigError("data.batch_size=0 is not allowed"),
    UsageError("bad storage"),
    NonFiniteLoss("val/loss is nan"),
    StudyTimeout("the study's timeout passed"),
    SurplusTrial("the study already had 1 trial under way"),
    KeyboardInterrupt(),
    type("TrackingError", (Exception,), {})("the store is gone"),
]


@pytest.mark.parametrize("error", EXPECTED, ids=lambda error: type(error).__name__)
def test_an_expected_failure_is_logged_without_its_traceback(optimize_log, error) -> None:
    quiet_expected_failures(debug=False)
    record = failure_record(optimize_log, error)
    assert record.exc_info is None
    assert repr(error) in record.getMessage()  # the one line stays


@pytest.mark.parametrize("error", [RuntimeError("boom"), ValueError("odd")], ids=repr)
def test_an_unexpected_failure_keeps_its_traceback(optimize_log, error) -> None:
    quiet_expected_failures(debug=False)
    assert failure_record(optimize_log, error).exc_info[1] is error


def test_with_debug_an_expected_failure_keeps_its_traceback(optimize_log) -> None:
    quiet_expected_failures(debug=True)
    error = ConfigError("data.batch_size=0 is not allowed")
    assert failure_record(optimize_log, error).exc_info[1] is error
