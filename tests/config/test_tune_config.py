"""The study config: the default study with the issue-spelled overrides; search-space keys must be
training config keys."""

from __future__ import annotations

import pytest

from src.config.parsing import parse_tune_config
from src.errors import ConfigError


def test_a_search_space_key_must_be_a_training_config_key():
    with pytest.raises(ConfigError, match="'model.hiden_dims' is not a training config key"):
        parse_tune_config(["--search_space", '{"model.hiden_dims": {"choices": [[8]]}}'])


def test_no_arguments_means_the_default_study_with_issue_spelled_overrides():
    cfg = parse_tune_config(["--n-trials", "3", "--n-jobs", "2", "--retrain-best"])
    assert (cfg.study_name, cfg.n_trials, cfg.n_jobs, cfg.retrain_best) == ("mnist-mlp", 3, 2, True)
    assert "optimizer.lr" in cfg.search_space and cfg.pruner.name == "median"


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        (
            "{parms: {max: 300000}}",
            "constraints.parms is not a constraint: allowed params, latency_ms",
        ),
        ("{params: {}}", "constraints.params: give min, max or both (e.g. {max: 300000})"),
        ("{latency_ms: {min: 2, max: 1}}", "constraints.latency_ms: min=2.0 is above max=1.0"),
    ],
    ids=["unknown-name", "no-bound", "min-above-max"],
)
def test_a_bad_constraint_is_refused_naming_it(constraints, message):
    with pytest.raises(ConfigError) as refused:
        parse_tune_config(["--constraints", constraints])
    assert str(refused.value) == message


def test_constraints_parse_into_bounds_per_name():
    cfg = parse_tune_config(["--constraints", "{params: {max: 300000}, latency_ms: {max: 0.5}}"])
    assert (cfg.constraints["params"].max, cfg.constraints["params"].min) == (300000, None)
    assert cfg.constraints["latency_ms"].max == 0.5


def test_enqueue_files_on_the_command_line_add_to_the_configs_entries():
    cfg = parse_tune_config(
        ["--enqueue", "[{model.dropout: 0.1}]", "--enqueue", "best.yaml", "--enqueue=other.yaml"]
    )
    assert cfg.enqueue == [{"model.dropout": 0.1}, "best.yaml", "other.yaml"]


def test_stop_settings_are_checked():
    with pytest.raises(
        ConfigError, match=r"stop.patience=0 is not allowed: expected null or an int >= 1"
    ):
        parse_tune_config(["--stop.patience", "0"])


def test_constraints_with_repeats_are_refused_naming_both_keys():
    words = ["--constraints", "{params: {max: 1000}}", "--repeats.seeds", "3"]
    with pytest.raises(
        ConfigError,
        match=r"^constraints are measured on single-run trials only.*"
        r"remove constraints or repeats$",
    ):
        parse_tune_config([*words, "--pruner.name", "none"])
