"""src/config/enqueue.py: warm-start entries checked against the search space and typed as the
trial stores them (no torch, no study)."""

from __future__ import annotations

import pytest
import yaml

from src.config.enqueue import resolve_enqueue
from src.config.parsing import split_enqueue_words
from src.config.search_space import ParamRange
from src.errors import ConfigError, UsageError

SPACE = {
    "model.hidden_dims": ParamRange(choices=[[128], [512, 256]]),
    "model.dropout": ParamRange(low=0.0, high=0.5),
    "data.batch_size": ParamRange(low=64, high=256, step=64),
    "optimizer.name": ParamRange(choices=["adam", "sgd"]),
}


def test_a_dict_entry_is_typed_as_the_trial_stores_it() -> None:
    (trial,) = resolve_enqueue(
        [{"model.dropout": 0, "model.hidden_dims": [512, 256], "data.batch_size": 128}], SPACE
    )
    # an int 0 on a float range must be 0.0, or skip_if_exists would not recognise it
    assert trial.params == {
        "model.dropout": 0.0,
        "model.hidden_dims": "[512, 256]",
        "data.batch_size": 128,
    }
    assert type(trial.params["model.dropout"]) is float
    assert trial.source == "enqueue[0]"


def test_nested_and_dotted_spellings_mean_the_same_keys() -> None:
    dotted, nested = resolve_enqueue([{"model.dropout": 0.1}, {"model": {"dropout": 0.1}}], SPACE)
    assert dotted.params == nested.params == {"model.dropout": 0.1}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"model.dropout": 0.7},
            "enqueue[0].model.dropout=0.7 is outside search_space.model.dropout:"
            " a number in [0.0, 0.5]",
        ),
        (
            {"data.batch_size": 100},
            "enqueue[0].data.batch_size=100 is outside search_space.data.batch_size:"
            " an int in [64, 256] in steps of 64",
        ),
        (
            {"optimizer.name": "rmsprop"},
            "enqueue[0].optimizer.name='rmsprop' is outside search_space.optimizer.name:"
            " choices ['adam', 'sgd']",
        ),
        (
            {"model.activation": "gelu"},
            "enqueue[0].model.activation is not in search_space: allowed model.hidden_dims,"
            " model.dropout, data.batch_size, optimizer.name",
        ),
    ],
    ids=["range", "step", "choice", "not-in-space"],
)
def test_a_value_the_search_space_cannot_produce_is_refused_naming_the_key(entry, message) -> None:
    with pytest.raises(ConfigError) as refused:
        resolve_enqueue([entry], SPACE)
    assert str(refused.value) == message


def test_a_training_yaml_gives_its_search_space_keys_and_names_what_is_ignored(tmp_path) -> None:
    path = tmp_path / "best-old.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"hidden_dims": [128], "dropout": 0.25},
                "optimizer": {"name": "sgd", "lr": 0.05},
                "trainer": {"max_epochs": 3},
                "mlflow": {"run_name": "best-old"},
            }
        )
    )
    (trial,) = resolve_enqueue([str(path)], SPACE)
    # data.batch_size is not set: its default (128) lies in the space, so it is enqueued too
    assert trial.params == {
        "model.hidden_dims": "[128]",
        "model.dropout": 0.25,
        "data.batch_size": 128,
        "optimizer.name": "sgd",
    }
    assert trial.ignored == ("optimizer.lr", "trainer.max_epochs")
    assert trial.sampled == ()


def test_a_default_outside_the_space_is_left_to_the_sampler(tmp_path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"model": {"dropout": 0.1}}))
    # the training default hidden_dims is not among these choices, and the file does not set it
    space = {**SPACE, "model.hidden_dims": ParamRange(choices=[[8], [16]])}
    (trial,) = resolve_enqueue([str(path)], space)
    assert "model.hidden_dims" not in trial.params and trial.sampled == ("model.hidden_dims",)


def test_a_value_a_training_yaml_sets_outside_the_space_is_refused(tmp_path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"model": {"dropout": 0.9}}))
    with pytest.raises(ConfigError, match=rf"enqueue\[0\] \({path}\) model.dropout=0.9 is outside"):
        resolve_enqueue([str(path)], SPACE)


def test_a_missing_training_yaml_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"enqueue\[0\] \(nope.yaml\): no such file"):
        resolve_enqueue(["nope.yaml"], SPACE)


def test_enqueue_file_words_are_taken_out_of_the_command_line() -> None:
    words = ["--n-trials", "3", "--enqueue", "a.yaml", "--enqueue=b.yaml", "--enqueue", "[{x: 1}]"]
    rest, files = split_enqueue_words(words)
    assert files == ["a.yaml", "b.yaml"]
    assert rest == ["--n-trials", "3", "--enqueue", "[{x: 1}]"]
