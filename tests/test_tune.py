"""`python -m src.tune`: small studies on the synthetic digits, real Optuna and MLflow stores."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from src.config.parsing import parse_tune_config
from src.errors import ConfigError
from src.runtime.main import run_main
from src.tune import main
from src.tuning.storage import locate
from tests.helpers import VAL_SIZE


def write_study(tmp_path: Path, data_dir: Path, store: str, name: str, **study: Any) -> Path:
    """A study config on the synthetic set: 2 epochs of a 32-unit MLP per trial, its own journal
    file, MLflow experiment and best-config folder."""
    config = {
        "study_name": name,
        "storage": str(tmp_path / "journal.log"),
        "best_config_dir": str(tmp_path / "best"),
        "train": {
            "model": {"hidden_dims": [32]},
            "data": {"data_dir": str(data_dir), "val_size": VAL_SIZE, "batch_size": 100},
            "trainer": {"max_epochs": 2, "accelerator": "cpu", "enable_progress_bar": False},
            "mlflow": {
                "experiment_name": f"tune-{name}",
                "tracking_uri": store,
                "log_model": False,
            },
            "checkpoint_dir": str(tmp_path / "checkpoints"),
        },
        "sampler": {"name": "random", "seed": 0},
        "pruner": {"name": "none"},
        **study,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def load(path: Path) -> optuna.Study:
    config = yaml.safe_load(path.read_text())
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(config["storage"])
    )
    return optuna.load_study(study_name=config["study_name"], storage=storage)


def runs_of(store: str, name: str, role: str) -> list:
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name(f"tune-{name}")
    if experiment is None:  # the study has not started yet
        return []
    return client.search_runs([experiment.experiment_id], f"tags.role = '{role}'")


@pytest.fixture(scope="module")
def pruned_study(tmp_path_factory, tiny_data_dir, mlflow_store) -> Path:
    """Two grid trials; the threshold pruner stops the one whose tiny learning rate leaves
    val/acc near chance after epoch 0. The best config is then retrained and tested."""
    tmp_path = tmp_path_factory.mktemp("pruned")
    path = write_study(
        tmp_path,
        tiny_data_dir,
        mlflow_store,
        "pruned",
        search_space={"optimizer.lr": {"choices": [1.0e-6, 1.0e-2]}},
        sampler={"name": "grid", "seed": 0},
        pruner={"name": "threshold", "lower": 0.5, "n_warmup_steps": 0},
        n_trials=2,
        retrain_best=True,
    )
    assert main(["--config", str(path)]) == 0
    return path


def test_a_trial_below_the_pruner_threshold_is_pruned_after_one_epoch(pruned_study):
    trials = {t.params["optimizer.lr"]: t for t in load(pruned_study).trials}
    assert trials[1.0e-6].state == TrialState.PRUNED
    assert list(trials[1.0e-6].intermediate_values) == [0]
    assert trials[1.0e-6].user_attrs["epochs"] == 1
    assert trials[1.0e-2].state == TrialState.COMPLETE
    assert trials[1.0e-2].value == max(trials[1.0e-2].intermediate_values.values())


def test_each_trial_is_a_nested_mlflow_run_tagged_with_its_final_state(pruned_study, mlflow_store):
    (parent,) = runs_of(mlflow_store, "pruned", "study")
    children = runs_of(mlflow_store, "pruned", "trial")
    assert len(children) == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    states = {r.data.tags["trial_state"]: r for r in children}
    assert states["PRUNED"].info.status == "KILLED"
    assert "pruned at epoch 0" in states["PRUNED"].data.tags["trial_state_reason"]
    assert states["COMPLETE"].info.status == "FINISHED"
    history = MlflowClient(mlflow_store).get_metric_history(
        states["COMPLETE"].info.run_id, "val/acc"
    )
    assert len(history) == 2


def test_the_parent_run_holds_the_best_value_params_and_plots(pruned_study, mlflow_store):
    (parent,) = runs_of(mlflow_store, "pruned", "study")
    assert parent.data.params["best.optimizer.lr"] == "0.01"
    assert parent.data.metrics["best_val_acc"] > 0.5
    assert parent.data.metrics["trials_pruned"] == 1
    plots = {a.path for a in MlflowClient(mlflow_store).list_artifacts(parent.info.run_id, "plots")}
    assert {"plots/optimization_history.png", "plots/intermediate_values.png"} <= plots


def test_the_best_trial_is_exported_as_a_config_that_trains(pruned_study, mlflow_store):
    best = pruned_study.parent / "best" / "best-pruned.yaml"
    assert yaml.safe_load(best.read_text())["optimizer"]["lr"] == 0.01
    (retrained,) = runs_of(mlflow_store, "pruned", "retrain_best")
    assert retrained.info.status == "FINISHED"
    assert retrained.data.metrics["test/acc"] > 0.5


def test_rerunning_a_study_resumes_it_up_to_the_new_n_trials(tmp_path, tiny_data_dir, mlflow_store):
    space = {"model.dropout": {"low": 0.0, "high": 0.5}}
    path = write_study(tmp_path, tiny_data_dir, mlflow_store, "resumed", search_space=space)
    assert main(["--config", str(path), "--n-trials", "1"]) == 0
    assert main(["--config", str(path), "--n-trials", "2"]) == 0
    trials = load(path).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    parents = runs_of(mlflow_store, "resumed", "study")
    children = runs_of(mlflow_store, "resumed", "trial")
    assert len(parents) == 2
    assert sorted(r.data.tags["mlflow.parentRunId"] for r in children) == sorted(
        r.info.run_id for r in parents
    )


def test_a_sampled_value_the_schema_rejects_fails_only_that_trial(
    tmp_path, tiny_data_dir, mlflow_store
):
    space = {"model.dropout": {"choices": [0.1, 1.5]}}
    grid = {"name": "grid", "seed": 0}
    path = write_study(
        tmp_path,
        tiny_data_dir,
        mlflow_store,
        "rejected",
        search_space=space,
        sampler=grid,
        n_trials=2,
    )
    assert main(["--config", str(path)]) == 0
    trials = {t.params["model.dropout"]: t for t in load(path).trials}
    assert trials[0.1].state == TrialState.COMPLETE
    assert trials[1.5].state == TrialState.FAIL
    assert "model.dropout=1.5 is not allowed" in trials[1.5].user_attrs["fail_reason"]
    failed = [r for r in runs_of(mlflow_store, "rejected", "trial") if r.info.status == "FAILED"]
    assert [r.data.tags["trial_state"] for r in failed] == ["FAIL"]


def test_a_nan_loss_fails_the_trial_with_the_reason(tmp_path, tiny_data_dir, mlflow_store):
    space = {"optimizer.lr": {"choices": [1.0e6]}}
    path = write_study(
        tmp_path,
        tiny_data_dir,
        mlflow_store,
        "diverged",
        search_space=space,
        sampler={"name": "grid", "seed": 0},
        n_trials=1,
    )
    words = ["--config", str(path), "--train.optimizer.name", "sgd"]
    assert main(words) == 0
    (trial,) = load(path).trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "NonFiniteLoss: val/loss is nan at epoch 0"
    assert trial.user_attrs["epochs"] == 1


@pytest.mark.slow
def test_two_worker_processes_share_the_journal_without_lost_or_duplicated_trials(
    tmp_path, tiny_data_dir, mlflow_store
):
    space = {"optimizer.lr": {"low": 1.0e-3, "high": 1.0e-1, "log": True}}
    path = write_study(
        tmp_path, tiny_data_dir, mlflow_store, "parallel", search_space=space, n_trials=4
    )
    assert main(["--config", str(path), "--n-jobs", "2"]) == 0
    finished = [t for t in load(path).trials if t.state == TrialState.COMPLETE]
    assert len(finished) == 4
    assert len({t.params["optimizer.lr"] for t in finished}) == 4
    assert len({t.user_attrs["worker"] for t in finished}) == 2
    assert len(runs_of(mlflow_store, "parallel", "study")) == 1


def test_a_multi_objective_study_prints_the_pareto_front(
    tmp_path, tiny_data_dir, mlflow_store, capsys
):
    space = {"model.hidden_dims": {"choices": [[8], [32]]}}
    path = write_study(
        tmp_path,
        tiny_data_dir,
        mlflow_store,
        "pareto",
        search_space=space,
        objectives=["val_acc", "param_count"],
        sampler={"name": "grid", "seed": 0},
        pruner={"name": "median"},
        n_trials=2,
    )
    assert main(["--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "pruner median is off" in out
    assert "Pareto front" in out
    counts = sorted(t.values[1] for t in load(path).trials)
    assert counts == [784 * 8 + 8 + 8 * 10 + 10, 784 * 32 + 32 + 32 * 10 + 10]


@pytest.mark.parametrize(
    "storage", ["postgresql://user@host:port/db", "nosuchdb://host/db", "just-a-name"]
)
def test_a_malformed_storage_is_a_one_line_usage_error(storage, capsys):
    with pytest.raises(SystemExit) as stop:
        run_main(main, ["--storage", storage, "--n-trials", "1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"storage={storage!r}" in err


def test_a_search_space_key_must_be_a_training_config_key():
    with pytest.raises(ConfigError, match="'model.hiden_dims' is not a training config key"):
        parse_tune_config(["--search_space", '{"model.hiden_dims": {"choices": [[8]]}}'])


def test_no_arguments_means_the_default_study_with_issue_spelled_overrides():
    cfg = parse_tune_config(["--n-trials", "3", "--n-jobs", "2", "--retrain-best"])
    assert (cfg.study_name, cfg.n_trials, cfg.n_jobs, cfg.retrain_best) == ("mnist-mlp", 3, 2, True)
    assert "optimizer.lr" in cfg.search_space and cfg.pruner.name == "median"


def test_the_default_journal_lives_beside_the_mlflow_sqlite_store(tmp_path):
    location = locate(None, f"sqlite:///{tmp_path}/mlflow.db")
    assert (location.kind, location.target) == ("journal", f"{tmp_path}/optuna-journal.log")


def test_a_trial_still_training_at_the_timeout_stops_after_its_current_batch(
    tmp_path, tiny_data_dir, tracking_env
):
    from src.config.parsing import parse_train_config
    from src.training.run import run_training
    from src.tuning.monitor import StudyTimeout, TrialMonitor
    from tests.helpers import tiny_train_args

    trial = optuna.create_study().ask()
    monitor = TrialMonitor(trial, deadline=time.time())
    words = tiny_train_args(tiny_data_dir, tmp_path, "tune-timeout")
    cfg = parse_train_config([*words, "--mlflow.log_model=false"])
    result = run_training(cfg, extra_callbacks=[monitor], run_test=False)
    assert isinstance(monitor.stop_reason, StudyTimeout)
    assert len(result.val_history) == 1  # of max_epochs=2: it stopped within the first


@pytest.mark.slow
def test_ctrl_c_stops_the_study_and_its_workers_leaving_nothing_running(
    tmp_path, tiny_data_dir, mlflow_store
):
    """Ctrl-C at a terminal reaches the tuning process and both workers at once, and the parent
    then SIGTERMs the workers. Wherever each one is (training, Optuna's or MLflow's writes,
    between trials), the study ends in one line with exit 130 and no run or trial is left
    RUNNING. (Seen before the fix: a SIGTERM inside Optuna's tell crashed a worker.)"""
    import os
    import signal
    import subprocess
    import sys

    from src.tracking.store import use_store

    use_store(mlflow_store)  # the store's tables exist before the study starts
    space = {"optimizer.lr": {"low": 1.0e-3, "high": 1.0e-1, "log": True}}
    path = write_study(tmp_path, tiny_data_dir, mlflow_store, "ctrl-c", search_space=space)
    proc = subprocess.Popen(
        [sys.executable, "-m", "src.tune", "--config", str(path), "--n-trials=200", "--n-jobs=2"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while not any(r.info.status == "FINISHED" for r in runs_of(mlflow_store, "ctrl-c", "trial")):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no trial finished: {proc.communicate()[1][-2000:]}")
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted by SIGINT")
    (study_run,) = runs_of(mlflow_store, "ctrl-c", "study")
    assert study_run.info.status == "KILLED"
    trial_runs = runs_of(mlflow_store, "ctrl-c", "trial")
    assert {r.info.status for r in trial_runs} <= {"FINISHED", "KILLED"}
    trials = load(path).trials
    assert TrialState.RUNNING not in {t.state for t in trials} and len(trials) < 200
    numbers = sorted(int(r.data.tags["trial_number"]) for r in trial_runs)
    assert numbers == [t.number for t in trials]  # one MLflow run a trial, none doubled
