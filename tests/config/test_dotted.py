"""src/config/dotted.py: nested config dicts and their dotted keys."""

from __future__ import annotations

import copy

from src.config.dotted import flatten, with_values

CONFIG = {
    "seed": 42,
    "model": {"hidden_dims": [512, 256], "dropout": 0.2},
    "trainer": {"max_epochs": 15, "max_time": None},
    "mlflow": {"experiment_name": "mnist-mlp"},
}
FLAT = {
    "seed": 42,
    "model.hidden_dims": [512, 256],
    "model.dropout": 0.2,
    "trainer.max_epochs": 15,
    "trainer.max_time": None,
    "mlflow.experiment_name": "mnist-mlp",
}


def test_flatten_names_every_leaf_by_its_dotted_key() -> None:
    assert flatten(CONFIG) == FLAT


def test_flatten_keeps_lists_as_leaf_values() -> None:
    assert flatten({"model": {"hidden_dims": [{"a": 1}]}}) == {"model.hidden_dims": [{"a": 1}]}


def test_flatten_with_a_prefix_puts_it_before_every_key() -> None:
    assert flatten({"lr": 0.1, "sub": {"x": 1}}, "optimizer.") == {
        "optimizer.lr": 0.1,
        "optimizer.sub.x": 1,
    }


def test_with_values_of_the_flattened_config_rebuilds_it() -> None:
    assert with_values({}, flatten(CONFIG)) == CONFIG


def test_with_values_of_its_own_flattened_values_is_an_equal_copy() -> None:
    assert with_values(CONFIG, flatten(CONFIG)) == CONFIG


def test_with_values_sets_a_dotted_key_and_keeps_its_siblings() -> None:
    result = with_values(CONFIG, {"model.dropout": 0.1})
    assert result["model"] == {"hidden_dims": [512, 256], "dropout": 0.1}
    assert flatten(result) == {**FLAT, "model.dropout": 0.1}


def test_with_values_creates_missing_sections() -> None:
    assert with_values({}, {"scheduler.onecycle.pct": 0.3}) == {
        "scheduler": {"onecycle": {"pct": 0.3}}
    }


def test_with_values_does_not_change_its_input() -> None:
    before = copy.deepcopy(CONFIG)
    result = with_values(CONFIG, {"model.dropout": 0.1, "new.key": 1})
    assert before == CONFIG
    result["model"]["hidden_dims"].append(4)  # the copy is deep: no list is shared either
    assert before == CONFIG
