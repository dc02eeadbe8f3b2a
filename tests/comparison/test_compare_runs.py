"""compare_runs on real MLflow runs in a temporary store, logged as the run contract says
(tests/comparison/logged_runs.py): which test each pair of candidates gets, and its numbers."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from scipy import stats

from src.comparison.comparison import compare_runs
from src.comparison.report import notes
from src.data.sources import load_dataset
from src.errors import UsageError
from tests.comparison.logged_runs import accuracies, log_group, log_run, new_experiment
from tests.helpers import REGISTERED, TEST_SIZE

BASELINE = [0.9810, 0.9822, 0.9801, 0.9815, 0.9830]
CANDIDATE = [0.9825, 0.9831, 0.9809, 0.9829, 0.9838]  # each seed 0.08-0.15 points better


@pytest.fixture
def client(tracking_env) -> MlflowClient:
    return MlflowClient(tracking_env)


@pytest.fixture
def experiment(client) -> str:
    return new_experiment(client)


def test_groups_with_the_same_seeds_get_the_paired_t_test(client, experiment):
    baseline = log_group(client, experiment, "base", accuracies(BASELINE, [1, 2, 3, 4, 5]))
    candidate = log_group(client, experiment, "cand", accuracies(CANDIDATE, [1, 2, 3, 4, 5]))
    comparison = compare_runs(client, [baseline, candidate])
    (difference,) = comparison.differences
    expected = stats.ttest_rel(CANDIDATE, BASELINE)
    assert difference.test == "paired"
    assert difference.n == 5
    assert difference.difference == pytest.approx(np.mean(CANDIDATE) - np.mean(BASELINE))
    assert difference.p_value == pytest.approx(expected.pvalue)
    assert difference.verdict() == "distinguishable from noise at 5%"
    assert [c.kind for c in comparison.candidates] == ["group", "group"]


def test_groups_with_different_seeds_get_welchs_t_test(client, experiment):
    baseline = log_group(client, experiment, "base", accuracies(BASELINE, [1, 2, 3, 4, 5]))
    candidate = log_group(client, experiment, "cand", accuracies(CANDIDATE, [6, 7, 8, 9, 10]))
    (difference,) = compare_runs(client, [baseline, candidate]).differences
    expected = stats.ttest_ind(CANDIDATE, BASELINE, equal_var=False)
    assert difference.test == "welch"
    assert difference.p_value == pytest.approx(expected.pvalue)
    assert difference.detail["n"] == [5, 5]


def test_unfinished_members_are_left_out_and_counted(client, experiment):
    members = accuracies(BASELINE, [1, 2, 3, 4, 5])
    statuses = {(5, None): "KILLED"}
    baseline = log_group(client, experiment, "base", members, statuses)
    candidate = log_group(client, experiment, "cand", accuracies(CANDIDATE[:4], [1, 2, 3, 4]))
    comparison = compare_runs(client, [baseline, candidate])
    assert comparison.baseline.n == 4
    assert comparison.baseline.left_out == 1
    # The killed seed gone, both groups have seeds 1-4: the pairs still match.
    assert comparison.differences[0].test == "paired"


def _predictions_with_discordance(labels: np.ndarray, b: int, c: int) -> tuple[np.ndarray, ...]:
    """(candidate, baseline) predictions: both wrong on 5 images, then b images only the
    candidate gets right and c only the baseline does; right everywhere else."""
    wrong = (labels + 1) % 10
    candidate, baseline = labels.copy(), labels.copy()
    candidate[:5], baseline[:5] = wrong[:5], wrong[:5]
    baseline[5 : 5 + b] = wrong[5 : 5 + b]
    candidate[5 + b : 5 + b + c] = wrong[5 + b : 5 + b + c]
    return candidate, baseline


def test_two_single_runs_get_mcnemars_exact_test(client, experiment, tiny_data_dir):
    labels = load_dataset("mnist", tiny_data_dir, allow_download=False).test_y
    predicted, baseline_predicted = _predictions_with_discordance(labels, b=9, c=1)
    accuracy = {"test/acc": float(np.mean(predicted == labels))}
    base_accuracy = {"test/acc": float(np.mean(baseline_predicted == labels))}
    baseline = log_run(
        client, experiment, "a", base_accuracy, None, tiny_data_dir, baseline_predicted
    )
    candidate = log_run(client, experiment, "b", accuracy, None, tiny_data_dir, predicted)
    (difference,) = compare_runs(client, [baseline, candidate]).differences
    assert difference.test == "mcnemar"
    assert difference.detail == {"candidate_only_right": 9, "baseline_only_right": 1}
    assert difference.p_value == pytest.approx(0.021484375)
    assert difference.difference == pytest.approx(8 / len(labels))
    assert difference.difference == pytest.approx(accuracy["test/acc"] - base_accuracy["test/acc"])


def test_single_runs_without_predictions_give_the_difference_only(client, experiment):
    baseline = log_run(client, experiment, "a", {"test/acc": 0.98})
    candidate = log_run(client, experiment, "b", {"test/acc": 0.985})
    (difference,) = compare_runs(client, [baseline, candidate]).differences
    assert difference.test == "none"
    assert difference.p_value is None
    assert difference.difference == pytest.approx(0.005)
    assert "test_predictions.npy" in difference.verdict()


def test_a_group_against_one_run_gives_the_difference_only(client, experiment):
    baseline = log_group(client, experiment, "base", accuracies(BASELINE, [1, 2, 3, 4, 5]))
    candidate = log_run(client, experiment, "one", {"test/acc": 0.99, "val/acc_best": 0.98})
    (difference,) = compare_runs(client, [baseline, candidate]).differences
    assert difference.test == "none"
    assert difference.verdict() == (
        "no test possible: the candidate has n = 1; a t-test needs n >= 2 on each side"
    )


@pytest.mark.parametrize("reference", ["models:/compared/1", "models:/compared@champion"])
def test_a_models_uri_stands_for_its_versions_source_run(client, experiment, reference):
    baseline = log_group(client, experiment, "base", accuracies(BASELINE, [1, 2, 3, 4, 5]))
    source = log_group(client, experiment, "cand", accuracies(CANDIDATE, [1, 2, 3, 4, 5]))
    if not client.search_registered_models("name = 'compared'"):
        client.create_registered_model("compared")
        version = client.create_model_version("compared", f"runs:/{source}/model", source)
        client.set_registered_model_alias("compared", "champion", version.version)
    candidate = compare_runs(client, [baseline, reference]).candidates[1]
    source_name = client.get_run(candidate.run_id).info.run_name
    assert (candidate.argument, candidate.kind, source_name) == (reference, "group", "cand")


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("0123456789abcdef0123456789abcdef", "no such run"),
        ("models:/never-registered/1", "no such registered model version"),
        ("models:/just-a-name", "models:/NAME/VERSION or models:/NAME@ALIAS"),
    ],
)
def test_an_unknown_reference_is_a_usage_error_naming_it(client, experiment, reference, says):
    baseline = log_run(client, experiment, "a", {"test/acc": 0.98})
    with pytest.raises(UsageError, match=f"^{reference}: .*{says}"):
        compare_runs(client, [baseline, reference])


def test_a_metric_no_run_logged_is_a_usage_error_listing_the_logged_ones(client, experiment):
    baseline = log_run(client, experiment, "a", {"test/acc": 0.98})
    candidate = log_run(client, experiment, "b", {"test/acc": 0.99})
    with pytest.raises(UsageError, match="--metric test/acx: .* logged: test/acc$"):
        compare_runs(client, [baseline, candidate], "test/acx")


@pytest.mark.slow  # trains the session's two registered runs when no other test has yet
def test_trained_runs_are_compared_image_by_image_through_their_model_versions(registered):
    """The contract end to end: training logs test_predictions.npy, the data params and the
    dataset digest; compare finds the labels and agrees with the logged accuracies."""
    good, bad = registered["good"], registered["bad"]
    comparison = compare_runs(
        registered["client"], [f"models:/{REGISTERED}/2", f"models:/{REGISTERED}@champion"]
    )
    (difference,) = comparison.differences
    assert [c.run_id for c in comparison.candidates] == [bad.run_id, good.run_id]
    assert difference.test == "mcnemar"
    assert difference.n == TEST_SIZE
    assert difference.difference == pytest.approx(
        good.test_metrics["test/acc"] - bad.test_metrics["test/acc"], abs=1e-6
    )
    assert difference.distinguishable


def test_a_diverged_members_nan_is_left_out_of_that_metric_and_said(client, experiment):
    members = accuracies(BASELINE, [1, 2, 3, 4, 5])
    members[5, None]["test/loss"] = float("nan")
    baseline = log_group(client, experiment, "base", members)
    candidate = log_group(client, experiment, "cand", accuracies(CANDIDATE, [1, 2, 3, 4, 5]))
    comparison = compare_runs(client, [baseline, candidate], "test/loss")
    assert len(comparison.baseline.values["test/loss"]) == 4
    assert comparison.differences[0].test == "welch"  # seed 5 has no pair on test/loss
    assert "base: 1 member(s) logged no finite test/loss" in notes(comparison)
