"""Warm start through `python -m src.tune` on a real journal storage: enqueued trials run first
and only once (a resumed study does not enqueue them again), `--enqueue FILE` takes an earlier
study's best config, and a value outside the search space is refused before any trial."""

from __future__ import annotations

import pytest

from src.tune import main
from tests.helpers import load_study, run_in_process

SPACE = {
    "model.dropout": {"low": 0.0, "high": 0.5},
    "model.hidden_dims": {"choices": [[8], [32]]},
}
ENTRY = {"model.dropout": 0.1, "model.hidden_dims": [8]}


@pytest.fixture(scope="module")
def warm(new_study):
    """A 1-trial study with one enqueued entry; the config's path."""
    path = new_study(
        "warm",
        epochs=1,
        search_space=SPACE,
        n_trials=1,
        enqueue=[ENTRY],
    )
    assert main(["--config", str(path)]) == 0
    return path


def test_an_enqueued_trial_runs_first_with_its_values(warm) -> None:
    (trial,) = load_study(warm).trials
    assert trial.params == {"model.dropout": 0.1, "model.hidden_dims": "[8]"}
    assert trial.user_attrs["enqueued_from"] == "enqueue[0]"


def test_resuming_the_study_does_not_enqueue_it_again(warm, capsys) -> None:
    assert main(["--config", str(warm), "--n-trials", "2"]) == 0
    assert "enqueued 0 of 1 trials to run first; 1 already in the study" in capsys.readouterr().out
    trials = load_study(warm).trials
    assert len(trials) == 2
    assert [t.params["model.dropout"] for t in trials].count(0.1) == 1
    assert "enqueued_from" not in trials[1].user_attrs


def test_enqueue_file_starts_a_new_study_from_an_earlier_best_config(
    warm, new_study, capsys
) -> None:
    best = warm.parent / "best" / "best-warm.yaml"
    path = new_study("warmer", search_space=SPACE, n_trials=1)
    words = ["--config", str(path), "--enqueue", str(best), "--train.trainer.max_epochs", "1"]
    assert main(words) == 0
    (trial,) = load_study(path).trials
    assert trial.params == load_study(warm).best_trial.params
    out = capsys.readouterr().out
    assert f"note: enqueue[0] ({best}): not in the search space, ignored: " in out
    assert "data.data_dir" in out  # what the best config sets beyond the search space


def test_a_value_outside_the_search_space_exits_2_naming_the_key(new_study, capfd) -> None:
    path = new_study(
        "warm-refused",
        search_space=SPACE,
        enqueue=[{"model.dropout": 0.9}],
    )
    code, _, err = run_in_process(main, ["--config", str(path)], capfd)
    assert code == 2
    assert err.strip() == (
        "error: enqueue[0].model.dropout=0.9 is outside search_space.model.dropout:"
        " a number in [0.0, 0.5]"
    )
    assert not (path.parent / "journal.log").exists()
