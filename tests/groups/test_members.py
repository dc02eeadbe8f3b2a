"""A group's members: which seeds and folds, their configs, the config hash and the tags."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from src.config.tracking import MlflowConfig
from src.config.train import DataConfig, TrainConfig
from src.errors import UsageError
from src.groups.members import (
    Member,
    config_hash,
    describe_members,
    expand_members,
    member_config,
    member_tags,
    parse_seeds,
    plan_group,
)
from tests.helpers import ROOT


def test_a_count_of_seeds_counts_up_from_the_config_seed_and_a_list_is_taken_as_given() -> None:
    assert parse_seeds("3", base_seed=42) == [42, 43, 44]
    assert parse_seeds("1,2,7", base_seed=42) == [1, 2, 7]
    assert parse_seeds(" 4 , 0 ", base_seed=42) == [4, 0]


@pytest.mark.parametrize("text", ["0", "a,b", "", "1,1", "-3", "2.5", "1,,2"])
def test_bad_seeds_name_the_flag(text: str) -> None:
    with pytest.raises(UsageError, match=r"^--seeds "):
        parse_seeds(text, base_seed=0)


def test_members_are_the_cross_product_of_seeds_and_folds_with_readable_labels() -> None:
    both = expand_members([3, 4], folds=2, base_seed=0)
    assert [(m.seed, m.fold) for m in both] == [(3, 0), (3, 1), (4, 0), (4, 1)]
    assert both[1].label == "seed 3, fold 1"
    assert [m.label for m in expand_members(None, 2, base_seed=9)] == ["fold 0", "fold 1"]
    assert [m.label for m in expand_members([5], 0, base_seed=9)] == ["seed 5"]
    assert describe_members(both) == "seeds 3-4 x 2 folds"
    assert describe_members(expand_members(None, 5, 0)) == "5 folds"
    assert describe_members(expand_members([1, 2, 7], 0, 0)) == "seeds 1,2,7"


def test_member_config_sets_seed_and_fold_only() -> None:
    cfg = TrainConfig(data=DataConfig(folds=3))
    member = member_config(cfg, Member(seed=7, fold=2))
    assert (member.seed, member.data.fold, member.data.folds) == (7, 2, 3)
    assert dataclasses.replace(member, seed=cfg.seed, data=cfg.data) == cfg
    with pytest.raises(UsageError, match="data.folds"):
        member_config(TrainConfig(), Member(seed=1, fold=0))


def test_config_hash_ignores_seed_fold_and_where_things_are_logged_but_not_the_recipe() -> None:
    cfg = TrainConfig(data=DataConfig(folds=3))
    same = dataclasses.replace(
        member_config(cfg, Member(seed=1, fold=2)),
        mlflow=MlflowConfig(experiment_name="elsewhere", run_name="x"),
        checkpoint_dir="/tmp/other",
    )
    assert config_hash(same) == config_hash(cfg)
    other = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, dropout=0.3))
    assert config_hash(other) != config_hash(cfg)
    assert len(config_hash(cfg)) == 12 and int(config_hash(cfg), 16) >= 0


def test_config_hash_is_the_same_in_another_process() -> None:
    code = "from src.config.train import TrainConfig; from src.groups.members import config_hash;"
    code += " print(config_hash(TrainConfig()))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == config_hash(TrainConfig())


def test_member_tags_name_the_parent_hash_seed_and_fold() -> None:
    cfg = TrainConfig()
    assert member_tags("p1", cfg, Member(3, None)) == {
        "group_role": "member",
        "group_id": "p1",
        "config_hash": config_hash(cfg),
        "seed": "3",
    }
    assert member_tags("p1", cfg, Member(3, 1))["fold"] == "1"


def test_folds_flag_sets_data_folds_and_refuses_fewer_than_two() -> None:
    cfg, members = plan_group(TrainConfig(seed=5), seeds=None, folds=2)
    assert cfg.data.folds == 2 and [(m.seed, m.fold) for m in members] == [(5, 0), (5, 1)]
    with pytest.raises(UsageError, match=r"^--folds 1: "):
        plan_group(TrainConfig(), seeds=None, folds=1)
