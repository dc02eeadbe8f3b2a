"""`python -m src.compare` in-process through run_main: the table, --json, --log, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from src.compare import main
from src.comparison.record import EXPERIMENT
from tests.comparison.logged_runs import accuracies, log_group, new_experiment
from tests.comparison.test_compare_runs import BASELINE, CANDIDATE
from tests.helpers import run_in_process


@pytest.fixture
def groups(tracking_env) -> tuple[MlflowClient, str, str]:
    client = MlflowClient(tracking_env)
    experiment = new_experiment(client)
    baseline = log_group(client, experiment, "base", accuracies(BASELINE, [1, 2, 3, 4, 5]))
    candidate = log_group(client, experiment, "cand", accuracies(CANDIDATE, [1, 2, 3, 4, 5]))
    return client, baseline, candidate


def comparison_runs(client: MlflowClient, baseline: str) -> list:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    return client.search_runs(
        [experiment.experiment_id], f"tags.`compared_run.{baseline}` = 'baseline'"
    )


def test_the_table_names_the_test_the_interval_and_the_verdict(groups, capsys):
    client, baseline, candidate = groups
    code, out, err = run_in_process(main, [baseline, candidate], capsys)
    assert (code, err) == (0, "")
    assert "| baseline | base | " in out
    assert "| 98.16 ± 0.14 | 97.16 ± 0.14 |" in out
    row = next(line for line in out.splitlines() if line.startswith("| cand − base"))
    assert "| +0.11 | [+0.07, +0.15] | 0.00212 | paired t-test (same seeds/folds), 5 pairs" in row
    assert row.endswith("| distinguishable from noise at 5% |")
    assert comparison_runs(client, baseline) == []  # logs nothing by default


def test_json_is_one_document_on_stdout(groups, capsys):
    _, baseline, candidate = groups
    code, out, err = run_in_process(main, [baseline, candidate, "--json"], capsys)
    document = json.loads(out)
    assert (code, err) == (0, "")
    assert [c["run_id"] for c in document["candidates"]] == [baseline, candidate]
    assert document["candidates"][0]["metrics"]["test/acc"]["n"] == 5
    (compared,) = document["comparisons"]
    assert (compared["test"], compared["distinguishable"]) == ("paired", True)
    assert compared["test_name"] == document["tests"]["paired"]
    assert document["logged_run_id"] is None


def test_log_keeps_the_table_and_the_document_in_a_new_run(groups, capsys, tmp_path):
    client, baseline, candidate = groups
    code, out, _ = run_in_process(main, [baseline, candidate, "--log", "--json"], capsys)
    logged = json.loads(out)["logged_run_id"]
    (run,) = comparison_runs(client, baseline)
    assert (code, run.info.run_id, run.info.status) == (0, logged, "FINISHED")
    assert run.data.tags["compared_runs"] == f"{baseline},{candidate}"
    assert run.data.tags[f"compared_run.{candidate}"] == "candidate 1"
    markdown = Path(client.download_artifacts(logged, "comparison.md", str(tmp_path)))
    document = Path(client.download_artifacts(logged, "comparison.json", str(tmp_path)))
    assert "paired t-test" in markdown.read_text()
    assert json.loads(document.read_text())["comparisons"][0]["candidate"] == candidate


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (["0123456789abcdef0123456789abcdef"], "0123456789abcdef0123456789abcdef: no such run"),
        (["{candidate}", "--metric", "test/acx"], "--metric test/acx: base"),
        ([], "compare needs a baseline and at least one candidate; got 1 run"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(groups, capsys, words, says):
    _, baseline, candidate = groups
    words = [word.format(candidate=candidate) for word in words]
    code, out, err = run_in_process(main, [baseline, *words], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {says}")
    assert err.count("\n") == 1
