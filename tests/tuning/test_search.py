"""src/tuning/search.py: the search space sampled by a real Optuna trial, finished trials' params
read back as config values, and the grid of a space."""

from __future__ import annotations

import itertools

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from src.config.search_space import ParamRange
from src.tuning.search import decode, grid, sample

HIDDEN = [[64], [128, 64]]


def sampled(space: dict[str, ParamRange], seed: int = 0) -> tuple[optuna.Trial, dict]:
    """A trial of a fresh in-memory study, and the config values it sampled."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    trial = study.ask()
    return trial, sample(trial, space)


@pytest.mark.parametrize(
    "spec", [ParamRange(low=16, high=64), ParamRange(low=16.0, high=64.0)], ids=["ints", "floats"]
)
def test_a_range_of_an_int_key_samples_ints(spec) -> None:
    trial, values = sampled({"data.batch_size": spec})
    assert type(values["data.batch_size"]) is int and 16 <= values["data.batch_size"] <= 64
    assert trial.distributions["data.batch_size"] == IntDistribution(16, 64)


def test_an_int_range_with_a_step_samples_on_the_steps() -> None:
    for seed in range(5):
        _, values = sampled({"data.batch_size": ParamRange(low=32, high=256, step=32)}, seed)
        assert values["data.batch_size"] % 32 == 0


def test_a_range_of_a_float_key_samples_floats() -> None:
    trial, values = sampled({"model.dropout": ParamRange(low=0.0, high=0.5)})
    assert type(values["model.dropout"]) is float and 0.0 <= values["model.dropout"] <= 0.5
    assert trial.distributions["model.dropout"] == FloatDistribution(0.0, 0.5)


def test_a_float_range_with_a_step_samples_on_the_steps() -> None:
    trial, _ = sampled({"model.dropout": ParamRange(low=0.0, high=0.5, step=0.1)})
    assert trial.distributions["model.dropout"] == FloatDistribution(0.0, 0.5, step=0.1)


@pytest.mark.parametrize(
    ("key", "distribution"),
    [
        ("optimizer.lr", FloatDistribution(1e-4, 1e-1, log=True)),
        ("data.batch_size", IntDistribution(16, 512, log=True)),
    ],
)
def test_a_log_range_is_sampled_log_uniformly(key, distribution) -> None:
    spec = ParamRange(low=distribution.low, high=distribution.high, log=True)
    trial, _ = sampled({key: spec})
    assert trial.distributions[key] == distribution


def test_list_choices_are_offered_to_optuna_as_json_text() -> None:
    trial, _ = sampled({"model.hidden_dims": ParamRange(choices=HIDDEN)})
    assert trial.distributions["model.hidden_dims"] == CategoricalDistribution(
        ["[64]", "[128, 64]"]
    )
    assert trial.params["model.hidden_dims"] in ("[64]", "[128, 64]")


def test_list_choices_come_back_from_sample_as_lists() -> None:
    _, values = sampled({"model.hidden_dims": ParamRange(choices=HIDDEN)})
    assert values["model.hidden_dims"] in HIDDEN


def test_scalar_choices_are_offered_and_returned_as_they_are() -> None:
    trial, values = sampled({"model.activation": ParamRange(choices=["relu", "tanh"])})
    assert values["model.activation"] == trial.params["model.activation"]
    assert values["model.activation"] in ("relu", "tanh")


def test_decode_turns_a_finished_trials_params_back_into_config_values() -> None:
    space = {
        "model.hidden_dims": ParamRange(choices=HIDDEN),
        "model.dropout": ParamRange(low=0.0, high=0.5),
    }
    trial, values = sampled(space)
    assert decode(trial.params, space) == values


def test_decode_keeps_params_the_space_does_not_name_and_unknown_texts() -> None:
    space = {"model.hidden_dims": ParamRange(choices=HIDDEN)}
    params = {"model.hidden_dims": "[32]", "seed": 3}
    assert decode(params, space) == params


def test_the_grid_of_choices_is_their_encoded_values() -> None:
    space = {"model.hidden_dims": ParamRange(choices=HIDDEN), "seed": ParamRange(choices=[1, 2])}
    assert grid(space) == {"model.hidden_dims": ["[64]", "[128, 64]"], "seed": [1, 2]}


def test_the_grid_of_a_float_range_includes_its_high_end() -> None:
    points = grid({"model.dropout": ParamRange(low=0.0, high=0.3, step=0.1)})["model.dropout"]
    assert points == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_the_grid_of_an_int_range_steps_by_one_unless_told() -> None:
    assert grid({"seed": ParamRange(low=1, high=4)}) == {"seed": [1, 2, 3, 4]}
    assert grid({"seed": ParamRange(low=1, high=7, step=3)}) == {"seed": [1, 4, 7]}


def test_the_grid_of_an_int_range_holds_ints() -> None:
    points = grid({"data.batch_size": ParamRange(low=16.0, high=48.0, step=16.0)})
    assert points == {"data.batch_size": [16, 32, 48]}
    assert all(type(point) is int for point in points["data.batch_size"])


def test_a_grid_sampler_over_the_grid_samples_every_point_once() -> None:
    space = {
        "model.hidden_dims": ParamRange(choices=HIDDEN),
        "model.activation": ParamRange(choices=["relu", "tanh"]),
    }
    study = optuna.create_study(sampler=optuna.samplers.GridSampler(grid(space), seed=0))
    seen = []
    study.optimize(lambda trial: seen.append(sample(trial, space)) or 0.0, n_trials=4)
    expected = [
        {"model.hidden_dims": dims, "model.activation": act}
        for dims, act in itertools.product(HIDDEN, ["relu", "tanh"])
    ]
    assert sorted(seen, key=str) == sorted(expected, key=str)
