"""`python -m src.compare` as a user runs it: a real process, its stdout, stderr and exit code."""

from __future__ import annotations

import json

from mlflow.tracking import MlflowClient

from tests.comparison.logged_runs import accuracies, log_group, new_experiment
from tests.helpers import run_process


def test_compare_two_groups_prints_json_and_nothing_on_stderr(mlflow_store):
    client = MlflowClient(mlflow_store)
    experiment = new_experiment(client)
    baseline = log_group(client, experiment, "a", accuracies([0.981, 0.983, 0.980], [1, 2, 3]))
    candidate = log_group(client, experiment, "b", accuracies([0.979, 0.984, 0.982], [1, 2, 3]))
    done = run_process(
        "src.compare", baseline, candidate, "--json", env={"MLFLOW_TRACKING_URI": mlflow_store}
    )
    assert (done.returncode, done.stderr) == (0, "")
    (compared,) = json.loads(done.stdout)["comparisons"]
    assert (compared["test"], compared["verdict"]) == (
        "paired",
        "not distinguishable from noise at 5%",
    )


def test_an_unknown_run_id_exits_2_with_one_line_naming_it(mlflow_store):
    unknown = "0123456789abcdef0123456789abcdef"
    done = run_process("src.compare", unknown, unknown, env={"MLFLOW_TRACKING_URI": mlflow_store})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"error: {unknown}: no such run in the tracking store")
    assert done.stderr.count("\n") == 1
