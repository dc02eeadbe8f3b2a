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
