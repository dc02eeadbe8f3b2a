"""`python -m src.train --seeds 2` / `--folds 2` end to end: a parent run with nested members,
the aggregates on the parent, per-image test predictions on each member, the printed table."""

from __future__ import annotations

import math

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from scipy import stats

from src.groups.records import GROUP_METRICS
from src.tracking.artifacts import TEST_PREDICTIONS
from tests.groups.conftest import group_runs, group_words, train_in_process
from tests.helpers import TEST_SIZE, synthetic_digits


@pytest.fixture(scope="module")
def seed_group(tiny_data_dir, mlflow_store, tmp_path_factory):
    words = group_words(tiny_data_dir, tmp_path_factory.mktemp("group"), "two-seeds", "--seeds=2")
    printed = train_in_process(mlflow_store, words)
    (parent,) = group_runs(mlflow_store, "two-seeds", "parent")
    members = sorted(
        group_runs(mlflow_store, "two-seeds", "member"), key=lambda r: int(r.data.tags["seed"])
    )
    client = MlflowClient(mlflow_store)
    return client, parent, members, printed


def test_a_two_seed_group_is_a_parent_with_two_nested_finished_members(seed_group) -> None:
    _, parent, members, _ = seed_group
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["group_members"] == "seeds 42-43"
    hashed = parent.data.tags["config_hash"]
    assert parent.data.tags["mlflow.runName"] == f"two-seeds-group-{hashed[:6]}"
    assert "seed" not in parent.data.params and "data.fold" not in parent.data.params
    assert parent.data.params["model.hidden_dims"] == "[32]"
    assert [m.data.tags["seed"] for m in members] == ["42", "43"]
    for member in members:
        tags = member.data.tags
        assert member.info.status == "FINISHED"
        assert tags["mlflow.parentRunId"] == tags["group_id"] == parent.info.run_id
        assert tags["config_hash"] == parent.data.tags["config_hash"]
        assert "fold" not in tags
        assert member.data.params["seed"] == tags["seed"]


def test_the_parent_logs_mean_std_and_t_interval_of_the_members(seed_group) -> None:
    _, parent, members, _ = seed_group
    metrics = parent.data.metrics
    assert metrics["members"] == 2
    accuracies = [m.data.metrics["test/acc"] for m in members]
    assert accuracies[0] != accuracies[1]  # else the interval below has no width to check
    for name in GROUP_METRICS:
        values = np.array([m.data.metrics[name] for m in members])
        mean, std = values.mean(), values.std(ddof=1)
        half = stats.t.ppf(0.975, df=1) * std / math.sqrt(2)
        assert metrics[f"{name}_mean"] == pytest.approx(mean, rel=1e-9, abs=1e-12)
        assert metrics[f"{name}_std"] == pytest.approx(std, rel=1e-9, abs=1e-12)
        assert metrics[f"{name}_ci95_low"] == pytest.approx(mean - half, rel=1e-9, abs=1e-12)
        assert metrics[f"{name}_ci95_high"] == pytest.approx(mean + half, rel=1e-9, abs=1e-12)


def test_every_member_logs_its_predicted_test_labels_as_uint8(seed_group, tmp_path) -> None:
    client, _, members, _ = seed_group
    test_y = synthetic_digits(TEST_SIZE, seed=2)[1]  # the tiny set's test labels, in order
    for member in members:
        path = client.download_artifacts(member.info.run_id, TEST_PREDICTIONS, str(tmp_path))
        predicted = np.load(path)
        assert predicted.dtype == np.uint8 and predicted.shape == (TEST_SIZE,)
        accuracy = float((predicted == test_y).mean())
        assert accuracy == pytest.approx(member.data.metrics["test/acc"], abs=1e-6)


def test_the_printed_summary_is_one_row_per_metric_with_the_parent_and_compare_hint(
    seed_group,
) -> None:
    _, parent, members, printed = seed_group
    accuracies = sorted(100 * m.data.metrics["test/acc"] for m in members)
    (row,) = [line for line in printed.splitlines() if "test/acc " in line]
    assert f"{accuracies[0]:.2f}–{accuracies[1]:.2f} %" in row
    mean, half = parent.data.metrics["test/acc_mean"], parent.data.metrics["test/acc_ci95_high"]
    assert f"{100 * mean:.2f} ± {100 * (half - mean):.2f} %" in row
    for name in GROUP_METRICS:
        assert any(line.lstrip("│ ").startswith(f"{name} ") for line in printed.splitlines())
    assert f"group (parent) run id: {parent.info.run_id}" in printed
    assert f"python -m src.compare {parent.info.run_id}" in printed


@pytest.mark.slow
def test_a_two_fold_group_validates_each_member_on_another_fold(
    tiny_data_dir, mlflow_store, tmp_path
) -> None:
    words = group_words(tiny_data_dir, tmp_path, "two-folds", "--folds=2")
    printed = train_in_process(mlflow_store, words)
    members = sorted(
        group_runs(mlflow_store, "two-folds", "member"), key=lambda r: r.data.tags["fold"]
    )
    assert [m.data.tags["fold"] for m in members] == ["0", "1"]
    assert [m.data.params["data.fold"] for m in members] == ["0", "1"]
    assert {m.data.params["data.folds"] for m in members} == {"2"}
    assert {m.data.tags["seed"] for m in members} == {"42"}
    (parent,) = group_runs(mlflow_store, "two-folds", "parent")
    assert parent.data.tags["group_members"] == "2 folds" and parent.data.metrics["members"] == 2
    assert "Group summary: 2 folds" in printed


@pytest.mark.slow
def test_seeds_times_folds_trains_every_pair_once_under_one_parent(
    tiny_data_dir, mlflow_store, tmp_path
) -> None:
    words = group_words(tiny_data_dir, tmp_path, "seeds-x-folds", "--seeds=2", "--folds=2")
    printed = train_in_process(mlflow_store, words)
    (parent,) = group_runs(mlflow_store, "seeds-x-folds", "parent")
    members = group_runs(mlflow_store, "seeds-x-folds", "member")
    pairs = sorted((m.data.tags["seed"], m.data.tags["fold"]) for m in members)
    assert pairs == [("42", "0"), ("42", "1"), ("43", "0"), ("43", "1")]
    assert {m.data.params["data.fold"] for m in members} == {"0", "1"}
    assert {m.data.tags["mlflow.parentRunId"] for m in members} == {parent.info.run_id}
    assert {m.info.status for m in members} == {"FINISHED"}
    assert parent.data.tags["group_members"] == "seeds 42-43 x 2 folds"
    assert parent.data.metrics["members"] == 4
    accuracies = [m.data.metrics["test/acc"] for m in members]
    assert parent.data.metrics["test/acc_mean"] == pytest.approx(np.mean(accuracies), rel=1e-9)
    assert "Group summary: seeds 42-43 x 2 folds" in printed
