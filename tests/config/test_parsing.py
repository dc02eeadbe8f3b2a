"""src/config/parsing.py: command-line words, YAML files and dicts -> config dataclasses, with
every failure one line that names the file or key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from src.config.parsing import (
    DEFAULT_STUDY,
    add_train_arguments,
    check_config_file,
    config_files,
    explain,
    new_parser,
    parse_train_config,
    parse_tune_config,
)
from src.config.search_space import ParamRange
from src.config.train import TrainConfig
from src.errors import ConfigError, UsageError

TRAIN_SECTIONS = "seed, model, optimizer, scheduler, data, early_stopping, trainer, mlflow"
SMALL_STUDY = {
    "study_name": "small",
    "n_trials": 2,
    "search_space": {"model.dropout": {"low": 0.0, "high": 0.5}},
}


@pytest.fixture(scope="module")
def train_parser():
    parser = new_parser("src.train", "")
    add_train_arguments(parser)
    return parser


def write(tmp_path: Path, text: str | bytes, name: str = "config.yaml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def test_config_files_are_the_values_of_every_config_flag() -> None:
    words = ["--config", "a.yaml", "--seed", "1", "--config=b.yaml", "--model.dropout", "0.1"]
    assert config_files(words) == ["a.yaml", "b.yaml"]


def test_a_trailing_config_flag_without_a_value_names_no_file() -> None:
    assert config_files(["--seed", "1", "--config"]) == []


@pytest.mark.parametrize(
    "text",
    ["model:\n  dropout: 0.1\n", "", "# only a comment\n"],
    ids=["mapping", "empty", "comment"],
)
def test_a_yaml_mapping_or_an_empty_file_is_a_config_file(tmp_path, text) -> None:
    check_config_file(write(tmp_path, text))


def test_inline_yaml_is_left_to_jsonargparse() -> None:
    check_config_file("{seed: 1}")


def test_a_missing_config_file_is_named(tmp_path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(UsageError, match=f"^--config {missing}: no such file; expected a YAML"):
        check_config_file(str(missing))


def test_a_folder_as_config_file_cannot_be_read(tmp_path) -> None:
    with pytest.raises(UsageError, match=r"cannot read it \(Is a directory\)"):
        check_config_file(str(tmp_path))


def test_a_config_file_that_is_not_utf8_cannot_be_read(tmp_path) -> None:
    path = write(tmp_path, b"seed: \xff\xfe\n")
    with pytest.raises(UsageError, match=rf"^--config {path}: cannot read it \(not UTF-8 text\)"):
        check_config_file(path)


def test_invalid_yaml_is_named_with_its_line_and_column(tmp_path) -> None:
    path = write(tmp_path, "a: 1\n b: 2\n")
    with pytest.raises(
        UsageError,
        match=f"^--config {path}: invalid YAML at line 2, column 3: mapping values are not allowed",
    ):
        check_config_file(path)


def test_invalid_yaml_says_where_the_unclosed_bracket_started(tmp_path) -> None:
    path = write(tmp_path, "model:\n  hidden_dims: [1, 2\nseed: 3\n")
    with pytest.raises(UsageError, match=r"\(while parsing a flow sequence started at line 2\)$"):
        check_config_file(path)


@pytest.mark.parametrize(("text", "kind"), [("- 1\n- 2\n", "list"), ("42\n", "int")])
def test_a_config_file_that_is_not_a_mapping_is_refused(tmp_path, text, kind) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match=f"expected a mapping of keys .*, got a {kind}$"):
        check_config_file(path)


def test_explain_without_a_parser_folds_the_message_into_one_line() -> None:
    assert explain("Parser key \"seed\":\n  Expected a <class 'int'>. Got value: x") == (
        '"seed": expected int. Got value: x'
    )


@pytest.mark.parametrize(
    "message",
    [
        "unrecognized arguments: --model.dropoutt 0.1",
        "Group 'model' does not accept option 'dropoutt'",
    ],
    ids=["command-line", "config-file"],
)
def test_an_unknown_key_gets_a_guess_and_its_section_keys(train_parser, message) -> None:
    text = explain(message, train_parser)
    assert text.startswith("unknown key model.dropoutt (did you mean model.dropout?); allowed: ")
    assert "model.hidden_dims, model.activation, model.dropout, model.input_dropout" in text
    assert "optimizer.lr" not in text


def test_an_unknown_key_like_no_other_gets_no_guess(train_parser) -> None:
    text = explain("unrecognized arguments: --model.xyzzy 1", train_parser)
    assert text.startswith("unknown key model.xyzzy; allowed: model.hidden_dims, ")


@pytest.mark.parametrize(
    ("message", "key", "guess"),
    [
        ("Option 'sed' is not accepted", "sed", "seed"),
        ("Option 'modle.dropout' is not accepted", "modle", "model"),
    ],
    ids=["top-level-key", "unknown-section"],
)
def test_an_unknown_top_level_name_gets_the_sections(train_parser, message, key, guess) -> None:
    assert explain(message, train_parser) == (
        f"unknown key {key} (did you mean {guess}?); allowed: {TRAIN_SECTIONS},"
        " checkpoint_dir, ckpt_path"
    )


def test_no_words_give_the_default_training_config() -> None:
    assert parse_train_config([]) == TrainConfig()


def test_dotted_words_set_training_keys() -> None:
    cfg = parse_train_config(["--model.hidden_dims=[64]", "--optimizer.lr", "0.01"])
    assert (cfg.model.hidden_dims, cfg.optimizer.lr) == ([64], 0.01)
    assert cfg.model.dropout == TrainConfig().model.dropout


def test_words_after_a_config_file_override_its_values(tmp_path) -> None:
    path = write(tmp_path, "seed: 3\nmodel:\n  dropout: 0.1\n")
    cfg = parse_train_config(["--config", path, "--seed", "5"])
    assert (cfg.seed, cfg.model.dropout) == (5, 0.1)


def test_a_dict_gives_a_training_config() -> None:
    cfg = parse_train_config({"model": {"dropout": 0.1}, "trainer": {"max_epochs": 3}})
    assert (cfg.model.dropout, cfg.trainer.max_epochs) == (0.1, 3)
    assert cfg.seed == TrainConfig().seed


@pytest.mark.parametrize(
    "args", [["--model.dropout", "abc"], {"model": {"dropout": "abc"}}], ids=["words", "dict"]
)
def test_a_value_of_the_wrong_type_is_a_usage_error_naming_the_key(args) -> None:
    with pytest.raises(UsageError, match='^"model.dropout": expected float. Got value: abc$'):
        parse_train_config(args)


def test_an_unknown_key_in_a_dict_is_a_usage_error_with_a_guess() -> None:
    with pytest.raises(
        UsageError, match=r"unknown key model.dropoutt \(did you mean model.dropout\?"
    ):
        parse_train_config({"model": {"dropoutt": 0.1}})


def test_a_missing_config_file_is_a_usage_error_before_parsing(tmp_path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        parse_train_config(["--config", str(tmp_path / "nope.yaml")])


@pytest.mark.parametrize(
    "args", [["--data.batch_size", "0"], {"data": {"batch_size": 0}}], ids=["words", "dict"]
)
def test_a_value_the_schema_refuses_is_a_config_error_naming_the_key(args) -> None:
    with pytest.raises(
        ConfigError, match=r"^data.batch_size=0 is not allowed: expected an int > 0"
    ):
        parse_train_config(args)


def test_the_default_study_file_is_configs_tune_default_yaml() -> None:
    expected = Path(__file__).resolve().parents[2] / "configs" / "tune" / "default.yaml"
    assert expected == DEFAULT_STUDY
    assert DEFAULT_STUDY.is_file()


def test_no_tune_words_give_the_default_study() -> None:
    default = yaml.safe_load(DEFAULT_STUDY.read_text())
    cfg = parse_tune_config([])
    assert (cfg.study_name, cfg.n_trials) == (default["study_name"], default["n_trials"])
    assert set(cfg.search_space) == set(default["search_space"])


def test_search_space_entries_become_param_ranges() -> None:
    lr = parse_tune_config([]).search_space["optimizer.lr"]
    assert lr == ParamRange(low=1e-4, high=1e-1, log=True)


@pytest.mark.parametrize(
    ("words", "key", "value"),
    [
        (["--n-trials", "5"], "n_trials", 5),
        (["--n_trials", "5"], "n_trials", 5),
        (["--n-jobs", "2"], "n_jobs", 2),
        (["--study-name", "wide"], "study_name", "wide"),
        (["--retrain-best"], "retrain_best", True),
        (["--retrain-best", "false"], "retrain_best", False),
        (["--retrain-best", "--register-model", "mnist"], "register_model", "mnist"),
    ],
)
def test_dashed_aliases_set_their_study_keys(words, key, value) -> None:
    assert getattr(parse_tune_config(words), key) == value


@pytest.mark.parametrize("form", ["separate", "equals"])
def test_a_config_file_replaces_the_default_study(tmp_path, form) -> None:
    path = write(tmp_path, yaml.safe_dump(SMALL_STUDY))
    words = ["--config", path] if form == "separate" else [f"--config={path}"]
    cfg = parse_tune_config(words)
    assert (cfg.study_name, cfg.n_trials, list(cfg.search_space)) == ("small", 2, ["model.dropout"])


def test_a_study_value_the_schema_refuses_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^n_trials=0 is not allowed: expected an int > 0"):
        parse_tune_config(["--n-trials", "0"])


def test_a_study_without_a_search_space_is_a_config_error(tmp_path) -> None:
    path = write(tmp_path, "study_name: empty\n")
    with pytest.raises(ConfigError, match="search_space is empty"):
        parse_tune_config(["--config", path])


def test_an_unknown_study_key_is_a_usage_error(tmp_path) -> None:
    path = write(tmp_path, yaml.safe_dump({**SMALL_STUDY, "n_trails": 3}))
    with pytest.raises(UsageError, match=r"unknown key n_trails \(did you mean n_trials\?\)"):
        parse_tune_config(["--config", path])
