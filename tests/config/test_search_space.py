"""src/config/search_space.py: search-space keys are training-config leaves, and every entry
Optuna or the schema would reject is a ConfigError naming `search_space.<key>`."""

from __future__ import annotations

import json
import math

import pytest

from src.config.search_space import (
    ParamRange,
    check_search_space,
    encode,
    is_int,
    is_number,
    leaf_type,
)
from src.errors import ConfigError


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("seed", int),
        ("optimizer.lr", float),
        ("model.hidden_dims", list[int]),
        ("trainer.min_epochs", int | None),
        ("model.batch_norm", bool),
    ],
)
def test_leaf_type_is_the_type_hint_of_a_dotted_training_key(key, hint) -> None:
    assert leaf_type(key) == hint


@pytest.mark.parametrize("key", ["model.hiden_dims", "nosuch", "optimizer.lr.value"])
def test_leaf_type_of_a_key_the_schema_lacks_is_a_config_error(key) -> None:
    with pytest.raises(ConfigError, match=f"search_space: '{key}' is not a training config key"):
        leaf_type(key)


def test_leaf_type_of_a_section_asks_for_one_of_its_keys() -> None:
    with pytest.raises(ConfigError, match="'optimizer' is a section; name one of its keys"):
        leaf_type("optimizer")


@pytest.mark.parametrize(
    ("hint", "expected"),
    [(int, True), (int | None, True), (float, False), (float | int, False), (bool, False)],
)
def test_is_int_means_int_or_optional_int_only(hint, expected) -> None:
    assert is_int(hint) is expected


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (int, True),
        (float, True),
        (float | None, True),
        (int | float | None, True),
        (bool, False),
        (str, False),
        (list[int], False),
    ],
)
def test_is_number_means_int_or_float_but_not_bool(hint, expected) -> None:
    assert is_number(hint) is expected


VALID = {
    "model.hidden_dims": ParamRange(choices=[[64], [128, 64]]),
    "model.activation": ParamRange(choices=["relu", "tanh"]),
    "model.dropout": ParamRange(low=0.0, high=0.5),
    "optimizer.lr": ParamRange(low=1e-4, high=1e-1, log=True),
    "data.batch_size": ParamRange(low=32, high=256, step=32),
}


def test_a_valid_search_space_passes() -> None:
    check_search_space(VALID)


@pytest.mark.parametrize(
    ("key", "spec", "message"),
    [
        ("model.dropout", ParamRange(choices=[0.1], low=0.0), "either choices or low/high, not"),
        ("model.dropout", ParamRange(choices=[]), "choices is empty"),
        ("model.dropout", ParamRange(low=0.0), "give choices, or both low and high"),
        ("model.dropout", ParamRange(high=0.5), "give choices, or both low and high"),
        ("model.activation", ParamRange(low=0, high=1), "not a number; give choices instead"),
        ("model.batch_norm", ParamRange(low=0, high=1), "not a number; give choices instead"),
        ("model.dropout", ParamRange(low=0.5, high=0.5), "low=0.5 must be finite and below high"),
        ("model.dropout", ParamRange(low=0.6, high=0.5), "low=0.6 must be finite and below high"),
        ("model.dropout", ParamRange(low=0.0, high=math.inf), "must be finite and below high=inf"),
        ("model.dropout", ParamRange(low=math.nan, high=0.5), "low=nan must be finite"),
        ("model.dropout", ParamRange(low=0.0, high=0.5, step=0), "step=0 must be > 0"),
        ("model.dropout", ParamRange(low=0.0, high=0.5, step=-0.1), "step=-0.1 must be > 0"),
        ("optimizer.lr", ParamRange(low=0.0, high=0.1, log=True), "log=true needs low > 0"),
        ("optimizer.lr", ParamRange(low=0.01, high=0.1, step=0.01, log=True), "and no step"),
        ("data.batch_size", ParamRange(low=16.5, high=64), "is an int, so low=16.5 must be one"),
        ("data.batch_size", ParamRange(low=16, high=64.5), "is an int, so high=64.5 must be one"),
        ("data.batch_size", ParamRange(low=16, high=64, step=0.5), "so step=0.5 must be one"),
    ],
)
def test_an_entry_optuna_would_reject_is_a_config_error_naming_it(key, spec, message) -> None:
    with pytest.raises(ConfigError, match=f"^search_space.{key}: .*{message}"):
        check_search_space({key: spec})


def test_an_unknown_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'model.hiden_dims' is not a training config key"):
        check_search_space({"model.hiden_dims": ParamRange(choices=[[8]])})


def test_the_grid_sampler_needs_a_step_for_a_float_range() -> None:
    with pytest.raises(ConfigError, match="the grid sampler needs choices or a step for a range"):
        check_search_space({"model.dropout": ParamRange(low=0.0, high=0.5)}, grid=True)


@pytest.mark.parametrize(
    ("key", "spec"),
    [
        ("model.dropout", ParamRange(low=0.0, high=0.5, step=0.1)),
        ("data.batch_size", ParamRange(low=32, high=64)),
        ("model.dropout", ParamRange(choices=[0.1, 0.2])),
    ],
    ids=["float-with-step", "int-steps-by-one", "choices"],
)
def test_the_grid_sampler_takes_choices_stepped_ranges_and_int_ranges(key, spec) -> None:
    check_search_space({key: spec}, grid=True)


@pytest.mark.parametrize("choice", ["relu", 3, 0.5, True, None])
def test_encode_keeps_a_scalar_choice_as_it_is(choice) -> None:
    assert encode(choice) is choice


def test_encode_offers_a_list_choice_as_its_json_text() -> None:
    assert encode([512, 256]) == "[512, 256]"
    assert json.loads(encode([512, 256])) == [512, 256]
