"""Studies with `repeats: {seeds: 3}` on the synthetic digits, real Optuna and MLflow stores: each
trial a group of 3 members, scored by their mean, the Wilcoxon pruner stopping a trial whose
members are worse than the best trial's, the best compared with the runner-up."""

from __future__ import annotations

import contextlib
import io
import statistics
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from src.config.parsing import parse_tune_config
from src.tune import main
from src.tuning.repeats import group_config, trial_members
from src.tuning.samplers import make_pruner
from tests.helpers import load_study, runs_of, write_study

WILCOXON = ["--pruner.name", "wilcoxon"]
GOOD, BAD, SLOWER = 1.0e-2, 1.0e-6, 3.0e-4  # learning rates; 1e-6 stays near chance


def enqueued_study(tmp_path: Path, data_dir: Path, store: str, name: str, lrs, **study) -> Path:
    """A study config with repeats over 3 seeds and the Wilcoxon pruner whose trials run the
    given learning rates in order (enqueued in its journal before the study starts)."""
    path = write_study(
        tmp_path,
        data_dir,
        store,
        name,
        search_space={"optimizer.lr": {"choices": [GOOD, BAD, SLOWER]}},
        repeats={"seeds": 3},
        n_trials=len(lrs),
        **{"pruner": {"name": "wilcoxon"}, **study},
    )
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "journal.log"))
    )
    queued = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    for lr in lrs:
        queued.enqueue_trial({"optimizer.lr": lr})
    return path


# Each study trains 5 to 11 tiny member runs, a few seconds each.
slow = pytest.mark.slow


@pytest.fixture(scope="module")
def pruned_study(tmp_path_factory, tiny_data_dir, mlflow_store) -> Path:
    """A good trial, then one whose tiny learning rate leaves both of its first two members
    near chance: 1 epoch per member."""
    tmp_path = tmp_path_factory.mktemp("repeats")
    path = enqueued_study(tmp_path, tiny_data_dir, mlflow_store, "repeats", [GOOD, BAD])
    assert main(["--config", str(path), "--train.trainer.max_epochs", "1"]) == 0
    return path


@slow
def test_a_clearly_worse_trial_is_pruned_after_two_members_and_the_good_one_completes(
    pruned_study,
):
    trials = {t.params["optimizer.lr"]: t for t in load_study(pruned_study).trials}
    assert trials[GOOD].state == TrialState.COMPLETE
    assert list(trials[GOOD].intermediate_values) == [0, 1, 2]
    assert trials[BAD].state == TrialState.PRUNED
    assert list(trials[BAD].intermediate_values) == [0, 1]  # the 3rd seed never trained
    assert "pruned after 2 of 3 members" in trials[BAD].user_attrs["stop_reason"]


@slow
def test_the_objective_is_the_mean_of_the_member_values(pruned_study):
    (good,) = [t for t in load_study(pruned_study).trials if t.state == TrialState.COMPLETE]
    values = good.user_attrs["member_values"]
    assert list(values) == ["seed 42", "seed 43", "seed 44"]  # train.seed 42 and up
    assert good.value == pytest.approx(statistics.fmean(values.values()))
    assert list(good.intermediate_values.values()) == list(values.values())


@slow
def test_each_trial_is_a_parent_run_of_its_members_under_the_study_run(pruned_study, mlflow_store):
    client = MlflowClient(mlflow_store)
    (study_run,) = runs_of(mlflow_store, "repeats", "study")
    trial_runs = {r.data.tags["trial_state"]: r for r in runs_of(mlflow_store, "repeats", "trial")}
    assert set(trial_runs) == {"COMPLETE", "PRUNED"}
    experiment = trial_runs["COMPLETE"].info.experiment_id
    for state, members in (("COMPLETE", 3), ("PRUNED", 2)):
        run = trial_runs[state]
        assert run.data.tags["mlflow.parentRunId"] == study_run.info.run_id
        assert run.data.tags["group_role"] == "parent"
        children = client.search_runs(
            [experiment], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
        )
        assert len(children) == members
        assert {c.data.tags["group_id"] for c in children} == {run.info.run_id}
        assert {c.info.status for c in children} == {"FINISHED"}
    assert trial_runs["PRUNED"].info.status == "KILLED"
    assert trial_runs["PRUNED"].data.tags["group_stopped"] == "early"
    assert trial_runs["COMPLETE"].info.status == "FINISHED"
    assert trial_runs["COMPLETE"].data.metrics["members"] == 3


def test_every_trial_has_the_same_seeds_counting_up_from_the_base_seed():
    cfg = parse_tune_config(["--repeats.seeds", "3", *WILCOXON, "--train.seed", "7"])
    assert [(m.seed, m.fold) for m in trial_members(cfg)] == [(7, None), (8, None), (9, None)]
    assert group_config(cfg, cfg.train) is cfg.train


def test_with_folds_every_trial_validates_on_each_of_k_folds_with_the_base_seed():
    cfg = parse_tune_config(["--repeats.folds", "3", *WILCOXON])
    assert [(m.seed, m.fold) for m in trial_members(cfg)] == [(42, 0), (42, 1), (42, 2)]
    assert [m.label for m in trial_members(cfg)] == ["fold 0", "fold 1", "fold 2"]
    assert group_config(cfg, cfg.train).data.folds == 3


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_the_wilcoxon_pruner_prunes_after_two_worse_members_at_the_default_threshold():
    # Optuna's own pruner with this project's defaults, on a study of plain numbers: the exact
    # one-sided p-value of two members both worse is 0.25 < 0.3; one member is never enough.
    cfg = parse_tune_config(["--repeats.seeds", "3", *WILCOXON])
    study = optuna.create_study(direction="maximize", pruner=make_pruner(cfg))
    decisions = []

    def objective(trial) -> float:
        values = [0.97, 0.96, 0.98] if trial.number == 0 else [0.90, 0.91, 0.89]
        for step, value in enumerate(values):
            trial.report(value, step)
            decisions.append((trial.number, step, trial.should_prune()))
        return statistics.fmean(values)

    study.optimize(objective, n_trials=2)
    assert [d for d in decisions if d[0] == 1] == [(1, 0, False), (1, 1, True), (1, 2, True)]


@pytest.fixture(scope="module")
def retrained_study(tmp_path_factory, tiny_data_dir, mlflow_store) -> tuple[Path, str]:
    """A good trial and a slower one, both complete (no pruner), then the best retrained over the
    same 3 seeds: (config, what the command printed)."""
    tmp_path = tmp_path_factory.mktemp("retrained")
    path = enqueued_study(
        tmp_path,
        tiny_data_dir,
        mlflow_store,
        "retrained",
        [GOOD, SLOWER],
        pruner={"name": "none"},
        retrain_best=True,
    )
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(printed):
        env.setenv("COLUMNS", "250")  # rich wraps table cells at the terminal's width
        assert main(["--config", str(path), "--train.trainer.max_epochs", "1"]) == 0
    return path, printed.getvalue()


@slow
def test_the_summary_says_whether_the_best_is_distinguishable_from_the_runner_up(
    retrained_study, mlflow_store
):
    path, printed = retrained_study
    trials = sorted(
        (t for t in load_study(path).trials if t.state == TrialState.COMPLETE),
        key=lambda t: -t.value,
    )
    assert len(trials) == 2
    (line,) = [row for row in printed.splitlines() if "best vs runner-up" in row]
    assert f"#{trials[0].number} - #{trials[1].number}:" in line
    assert "at 5%" in line
    (study_run,) = runs_of(mlflow_store, "retrained", "study")
    expected = trials[0].value - trials[1].value
    assert study_run.data.metrics["best_vs_runner_up_diff"] == pytest.approx(expected)


@slow
def test_retrain_best_trains_the_best_config_over_the_same_seeds_with_the_test_set(
    retrained_study, mlflow_store
):
    _, printed = retrained_study
    (group,) = runs_of(mlflow_store, "retrained", "retrain_best")
    assert group.info.status == "FINISHED"
    assert group.data.tags["group_members"] == "seeds 42-44"
    assert group.data.metrics["members"] == 3
    assert group.data.metrics["test/acc_ci95_low"] <= group.data.metrics["test/acc_mean"]
    (study_run,) = runs_of(mlflow_store, "retrained", "study")
    assert group.data.tags["mlflow.parentRunId"] == study_run.info.run_id
    mean = study_run.data.metrics["retrain_best/test_acc_mean"]
    assert mean == pytest.approx(group.data.metrics["test/acc_mean"])
    assert "best config retrained over 3 members: test/acc" in printed
    assert "(mean ± 95% t half-width)" in printed
    assert "best-retrained.yaml --seeds 3" in printed  # the same members, as a group of src.train
