"""Which test a pair gets (pure: no MLflow): paired over the same (seed, fold) members, Welch
otherwise, McNemar for two single runs on one test set, else the difference alone."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from src.comparison.decide import Candidate, compare_candidates, compare_values

BASELINE = {(1, None): 0.9810, (2, None): 0.9822, (3, None): 0.9801}
CANDIDATE = {(1, None): 0.9825, (2, None): 0.9831, (3, None): 0.9809}


def test_the_same_members_on_both_sides_are_paired_by_key_not_by_order():
    shuffled = dict(reversed(CANDIDATE.items()))
    result = compare_values(BASELINE, shuffled)
    keys = list(BASELINE)
    expected = stats.ttest_rel([CANDIDATE[k] for k in keys], [BASELINE[k] for k in keys])
    assert result.test == "paired"
    assert result.p_value == pytest.approx(expected.pvalue)


def test_folds_pair_by_seed_and_fold():
    baseline = {(7, fold): 0.98 + fold / 1000 for fold in range(5)}
    candidate = {(7, fold): 0.981 + fold / 1000 + (fold % 2) / 5000 for fold in range(5)}
    assert compare_values(baseline, candidate).test == "paired"


def test_different_members_are_compared_unpaired_with_welch():
    other_seeds = {(seed + 10, fold): value for (seed, fold), value in CANDIDATE.items()}
    result = compare_values(BASELINE, other_seeds)
    expected = stats.ttest_ind(list(CANDIDATE.values()), list(BASELINE.values()), equal_var=False)
    assert result.test == "welch"
    assert result.p_value == pytest.approx(expected.pvalue)


def test_one_shared_member_too_few_is_unpaired():
    assert compare_values(BASELINE, dict(list(CANDIDATE.items())[:2])).test == "welch"


@pytest.mark.parametrize(
    ("baseline", "candidate", "reason"),
    [
        ({(1, None): 0.98}, CANDIDATE, "the baseline has n = 1"),
        (BASELINE, {(1, None): 0.99}, "the candidate has n = 1"),
        ({(1, None): 0.98}, {(1, None): 0.99}, "one run on each side"),
    ],
)
def test_n_of_one_on_a_side_gives_the_difference_without_a_test(baseline, candidate, reason):
    result = compare_values(baseline, candidate)
    assert (result.test, result.p_value, result.low) == ("none", None, None)
    assert reason in result.verdict()
    assert result.difference == pytest.approx(
        np.mean(list(candidate.values())) - np.mean(list(baseline.values()))
    )


def single(name: str, predictions: np.ndarray | None, labels: np.ndarray, test_set="mnist"):
    # The logged accuracy plays no part in McNemar's test, which counts images.
    return Candidate(
        name, name, name, "run", {"test/acc": {(1, None): 0.9}}, {(1, None): name},
        predictions=predictions, labels=labels, test_set=test_set,
        no_predictions=None if predictions is not None else "the run logged no predictions",
    )  # fmt: skip


LABELS = np.arange(40) % 10
RIGHT = LABELS.copy()
SOME_WRONG = np.where(np.arange(40) < 6, (LABELS + 1) % 10, LABELS)


def test_two_single_runs_on_one_test_set_get_mcnemar():
    result = compare_candidates(
        single("a", SOME_WRONG, LABELS), single("b", RIGHT, LABELS), "test/acc"
    )
    assert result.test == "mcnemar"
    assert result.detail == {"candidate_only_right": 6, "baseline_only_right": 0}


def test_mcnemar_tests_accuracy_only():
    a, b = single("a", SOME_WRONG, LABELS), single("b", RIGHT, LABELS)
    a.values["test/f1"], b.values["test/f1"] = {(1, None): 0.9}, {(1, None): 0.95}
    assert compare_candidates(a, b, "test/f1").test == "none"


@pytest.mark.parametrize(
    ("baseline", "says"),
    [
        (single("a", None, LABELS), "a: the run logged no predictions"),
        (single("a", SOME_WRONG, (LABELS + 1) % 10), "different test sets"),
        (single("a", SOME_WRONG, LABELS, "fashion_mnist"), "different test sets"),
        (single("a", SOME_WRONG[:-1], LABELS), "39 predictions for 40 test images"),
    ],
)
def test_without_usable_predictions_single_runs_get_no_test_and_the_reason(baseline, says):
    result = compare_candidates(baseline, single("b", RIGHT, LABELS), "test/acc")
    assert result.test == "none"
    assert says in result.verdict()
    assert "McNemar's test is not possible" in result.verdict()
