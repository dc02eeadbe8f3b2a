"""`python -m src.tune` in-process: small studies on the synthetic digits, real Optuna and MLflow
stores. Pruning, failed trials, resuming a study, parallel workers, the Pareto front."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from src.tune import main
from src.tuning.study import StudyFailed
from tests.helpers import load_study, run_in_process, runs_of


@pytest.fixture(scope="module")
def pruned_study(new_study) -> Path:
    """Two grid trials; the threshold pruner stops the one whose tiny learning rate leaves
    val/acc near chance after epoch 0. The best config is then retrained and tested."""
    path = new_study(
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
    trials = {t.params["optimizer.lr"]: t for t in load_study(pruned_study).trials}
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


def test_trials_draw_no_figures_unless_the_study_asks(pruned_study, mlflow_store):
    from src.config.parsing import parse_tune_config
    from src.tuning.objective import trial_train_config

    client = MlflowClient(mlflow_store)
    for child in runs_of(mlflow_store, "pruned", "trial"):
        assert client.list_artifacts(child.info.run_id, "plots") == []
    study = parse_tune_config(["--trial_plots", "true"])  # the default study, figures on
    assert trial_train_config(study, {}, 0).mlflow.log_plots


def test_the_parent_run_holds_the_best_value_params_and_plots(pruned_study, mlflow_store):
    (parent,) = runs_of(mlflow_store, "pruned", "study")
    assert parent.data.params["best.optimizer.lr"] == "0.01"
    assert parent.data.metrics["best_val_acc"] > 0.5
    assert parent.data.metrics["trials_pruned"] == 1
    plots = {a.path for a in MlflowClient(mlflow_store).list_artifacts(parent.info.run_id, "plots")}
    assert {"plots/optimization_history.png", "plots/intermediate_values.png"} <= plots


def test_the_parent_run_logs_the_machine_s_system_metrics(pruned_study, mlflow_store):
    (parent,) = runs_of(mlflow_store, "pruned", "study")
    metrics = parent.data.metrics
    assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= set(
        metrics
    )


def test_the_best_trial_is_exported_as_a_config_that_trains(pruned_study, mlflow_store):
    best = pruned_study.parent / "best" / "best-pruned.yaml"
    assert yaml.safe_load(best.read_text())["optimizer"]["lr"] == 0.01
    (retrained,) = runs_of(mlflow_store, "pruned", "retrain_best")
    assert retrained.info.status == "FINISHED"
    assert retrained.data.metrics["test/acc"] > 0.5


def test_rerunning_a_study_resumes_it_up_to_the_new_n_trials(new_study, mlflow_store):
    space = {"model.dropout": {"low": 0.0, "high": 0.5}}
    path = new_study("resumed", search_space=space)
    assert main(["--config", str(path), "--n-trials", "1"]) == 0
    assert main(["--config", str(path), "--n-trials", "2"]) == 0
    trials = load_study(path).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    parents = runs_of(mlflow_store, "resumed", "study")
    children = runs_of(mlflow_store, "resumed", "trial")
    assert len(parents) == 2
    assert sorted(r.data.tags["mlflow.parentRunId"] for r in children) == sorted(
        r.info.run_id for r in parents
    )


def test_a_combination_the_schema_rejects_fails_only_that_trial(new_study, mlflow_store):
    # Each value is valid on its own (so the study starts); mse with label smoothing is not.
    space = {
        "model.loss": {"choices": ["cross_entropy", "mse"]},
        "model.label_smoothing": {"choices": [0.0, 0.1]},
    }
    grid = {"name": "grid", "seed": 0}
    path = new_study(
        "rejected",
        search_space=space,
        sampler=grid,
        n_trials=4,
    )
    assert main(["--config", str(path)]) == 0
    trials = {
        (t.params["model.loss"], t.params["model.label_smoothing"]): t
        for t in load_study(path).trials
    }
    assert trials[("mse", 0.1)].state == TrialState.FAIL
    reason = trials[("mse", 0.1)].user_attrs["fail_reason"]
    assert "model.label_smoothing=0.1 is not allowed" in reason
    assert [t.state for k, t in trials.items() if k != ("mse", 0.1)] == [TrialState.COMPLETE] * 3
    failed = [r for r in runs_of(mlflow_store, "rejected", "trial") if r.info.status == "FAILED"]
    assert [r.data.tags["trial_state"] for r in failed] == ["FAIL"]


@pytest.mark.parametrize(
    ("space", "says"),
    [
        ({"model.activation": {"choices": ["swish", "mish"]}}, ("model.activation", "'swish'")),
        ({"model.dropout": {"choices": [0.1, 1.5]}}, ("model.dropout", "1.5", "[0, 1)")),
        ({"optimizer.lr": {"low": -1.0, "high": 0.1}}, ("optimizer.lr", "-1.0", "> 0")),
        ({"data.batch_size": {"low": 0, "high": 64}}, ("data.batch_size", "0", "> 0")),
    ],
    ids=["unknown-choices", "a-bad-choice", "bad-low-end", "bad-int-low-end"],
)
def test_a_value_the_schema_rejects_is_refused_before_any_trial(
    new_study, space, says, mlflow_store, capfd
):
    path = new_study("refused", search_space=space)
    code, _, err = run_in_process(main, ["--config", str(path)], capfd)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("error: search_space.")
    for fragment in (*says, "rejected by the training schema"):
        assert fragment in line
    assert not (path.parent / "journal.log").exists()  # no study, no trial
    assert runs_of(mlflow_store, "refused", "study") == []


def test_a_nan_loss_fails_the_trial_with_the_reason(new_study, mlflow_store):
    space = {"optimizer.lr": {"choices": [1.0e6]}}
    path = new_study(
        "diverged",
        search_space=space,
        sampler={"name": "grid", "seed": 0},
        n_trials=1,
    )
    words = ["--config", str(path), "--train.optimizer.name", "sgd"]
    counted = r"all 1 trials of this invocation failed: 1x NonFiniteLoss: val/loss is nan"
    with pytest.raises(StudyFailed, match=counted):
        main(words)
    (trial,) = load_study(path).trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["fail_reason"] == "NonFiniteLoss: val/loss is nan at epoch 0"
    assert trial.user_attrs["epochs"] == 1
    (parent,) = runs_of(mlflow_store, "diverged", "study")
    assert parent.info.status == "FAILED"


def test_an_invocation_whose_trials_all_fail_exits_1_with_the_reasons_counted(
    new_study, mlflow_store, capfd
):
    space = {"optimizer.lr": {"choices": [1.0e6, 2.0e6]}}
    grid = {"name": "grid", "seed": 0}
    path = new_study("allfail", search_space=space, sampler=grid)
    words = ["--config", str(path), "--train.optimizer.name", "sgd", "--n-trials", "2"]
    code, _, err = run_in_process(main, words, capfd)
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last == (
        "error: all 2 trials of this invocation failed:"
        " 2x NonFiniteLoss: val/loss is nan at epoch 0"
    )
    assert "Traceback" not in err
    assert [r.info.status for r in runs_of(mlflow_store, "allfail", "study")] == ["FAILED"]


@pytest.mark.slow
def test_two_worker_processes_share_the_journal_without_lost_or_duplicated_trials(
    new_study, mlflow_store
):
    space = {"optimizer.lr": {"low": 1.0e-3, "high": 1.0e-1, "log": True}}
    path = new_study("parallel", search_space=space, n_trials=4)
    assert main(["--config", str(path), "--n-jobs", "2"]) == 0
    finished = [t for t in load_study(path).trials if t.state == TrialState.COMPLETE]
    assert len(finished) == 4
    assert len({t.params["optimizer.lr"] for t in finished}) == 4
    assert len({t.user_attrs["worker"] for t in finished}) == 2
    assert len(runs_of(mlflow_store, "parallel", "study")) == 1


def test_a_multi_objective_study_prints_the_pareto_front(new_study, mlflow_store, capsys):
    space = {"model.hidden_dims": {"choices": [[8], [32]]}}
    path = new_study(
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
    counts = sorted(t.values[1] for t in load_study(path).trials)
    assert counts == [784 * 8 + 8 + 8 * 10 + 10, 784 * 32 + 32 + 32 * 10 + 10]
