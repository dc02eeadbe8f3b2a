"""`repeats` in a study config: one of seeds or folds, and the pruners and objectives it allows,
each refusal one line naming both keys, exit code 2, before any study or run exists."""

from __future__ import annotations

import pytest

from src.config.parsing import parse_tune_config
from src.tune import main
from tests.helpers import run_in_process

WILCOXON = ["--pruner.name", "wilcoxon"]


def test_repeats_are_off_by_default() -> None:
    assert parse_tune_config([]).repeats.count == 0


@pytest.mark.parametrize("key", ["seeds", "folds"])
def test_repeats_of_seeds_or_folds_with_the_wilcoxon_pruner_are_accepted(key) -> None:
    cfg = parse_tune_config([f"--repeats.{key}", "3", *WILCOXON])
    assert (cfg.repeats.count, cfg.repeats.key, cfg.pruner.name) == (
        3,
        f"repeats.{key}",
        "wilcoxon",
    )


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (
            ["--repeats.seeds", "3", "--repeats.folds", "3", *WILCOXON],
            ("repeats.seeds=3", "repeats.folds=3", "set one of them"),
        ),
        (["--repeats.seeds", "1"], ("repeats.seeds=1", "0 (off) or an int >= 2")),
        (
            ["--repeats.seeds", "3", "--pruner.name", "median"],
            ("pruner.name='median'", "repeats.seeds=3", "['wilcoxon', 'none']"),
        ),
        (
            ["--repeats.folds", "3", "--pruner.name", "hyperband"],
            ("pruner.name='hyperband'", "repeats.folds=3", "per-epoch val/acc"),
        ),
        (WILCOXON, ("pruner.name='wilcoxon'", "needs repeats.seeds or repeats.folds")),
        (
            ["--repeats.seeds", "3", "--pruner.name", "none"]
            + ["--objectives", "[val_acc,param_count]", "--sampler.name", "nsga2"],
            ("objectives=['val_acc', 'param_count']", "repeats.seeds=3", "single objective"),
        ),
        (
            ["--repeats.seeds", "3", *WILCOXON, "--pruner.p_threshold", "0.1"],
            ("pruner.p_threshold=0.1", "repeats.seeds=3", "can never prune", "> 0.25"),
        ),
        (
            ["--repeats.seeds", "2", *WILCOXON],
            ("pruner.name='wilcoxon'", "repeats.seeds=2", "expected repeats.seeds >= 3"),
        ),
        (
            ["--repeats.folds", "3", *WILCOXON, "--train.data.folds", "5"],
            ("train.data.folds=5", "repeats.folds=3"),
        ),
    ],
    ids=[
        "seeds-and-folds",
        "one-seed",
        "median",
        "hyperband",
        "wilcoxon-alone",
        "multi-objective",
        "threshold-too-low",
        "two-members",
        "other-folds",
    ],
)
def test_a_refused_combination_exits_2_with_one_line_naming_both_keys(words, says, capfd) -> None:
    code, _, err = run_in_process(main, words, capfd)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ")
    for fragment in says:
        assert fragment in line


def test_five_seeds_let_optunas_default_threshold_prune_after_four_members() -> None:
    # 2^-4 = 0.0625 < 0.1: the 4th of 5 members can still stop a trial.
    cfg = parse_tune_config(["--repeats.seeds", "5", *WILCOXON, "--pruner.p_threshold", "0.1"])
    assert cfg.pruner.p_threshold == 0.1
