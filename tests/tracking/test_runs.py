"""src/tracking/runs.py: a run's life in MLflow with an honest final status, its params, tags
and dataset. Runs go into the session's sqlite store, one experiment per test."""

from __future__ import annotations

import random
import signal
import subprocess

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from src.runtime.signals import RunInterrupted
from src.runtime.threads import usable_cpus
from src.tracking.runs import (
    MAX_DIGEST_CHARS,
    environment_tags,
    git_tags,
    log_dataset,
    log_params,
    tracked_run,
)

SECRET = "s3cr3t-value"


@pytest.fixture  # client, experiment_id: tests/tracking/conftest.py
def run_id(client: MlflowClient, experiment_id: str) -> str:
    return client.create_run(experiment_id).info.run_id


def status(client: MlflowClient, run_id: str) -> str:
    return client.get_run(run_id).info.status


def test_a_run_that_ends_normally_is_finished(client, experiment_id) -> None:
    with tracked_run(experiment_id) as run:
        assert status(client, run.info.run_id) == "RUNNING"
    assert status(client, run.info.run_id) == "FINISHED"


def test_a_run_that_raises_is_failed_and_the_error_goes_on(client, experiment_id) -> None:
    with pytest.raises(ValueError, match="diverged"), tracked_run(experiment_id) as run:
        raise ValueError("diverged")
    assert status(client, run.info.run_id) == "FAILED"


def test_a_run_interrupted_by_a_signal_is_killed_and_named_in_the_error(
    client, experiment_id
) -> None:
    with pytest.raises(RunInterrupted) as stop, tracked_run(experiment_id) as run:
        raise RunInterrupted(signal.SIGTERM)
    assert status(client, run.info.run_id) == "KILLED"
    assert (stop.value.run_id, stop.value.exit_code) == (run.info.run_id, 143)
    assert f"MLflow run {run.info.run_id} marked KILLED" in str(stop.value)


def test_an_interrupt_that_names_an_inner_run_keeps_that_name(client, experiment_id) -> None:
    inner = RunInterrupted(signal.SIGTERM)
    inner.run_id = "the-trial-run"
    with pytest.raises(RunInterrupted) as stop, tracked_run(experiment_id) as run:
        raise inner
    assert stop.value.run_id == "the-trial-run"
    assert status(client, run.info.run_id) == "KILLED"


def test_ctrl_c_in_a_run_kills_it_and_becomes_run_interrupted(client, experiment_id) -> None:
    with pytest.raises(RunInterrupted) as stop, tracked_run(experiment_id) as run:
        raise KeyboardInterrupt
    assert status(client, run.info.run_id) == "KILLED"
    assert (stop.value.run_id, stop.value.exit_code) == (run.info.run_id, 130)
    assert isinstance(stop.value.__cause__, KeyboardInterrupt)


def test_a_resumed_run_is_the_same_run_reopened(client, experiment_id) -> None:
    with tracked_run(experiment_id, run_name="first") as run:
        pass
    with tracked_run(experiment_id, run_id=run.info.run_id) as resumed:
        assert status(client, run.info.run_id) == "RUNNING"
    assert resumed.info.run_id == run.info.run_id
    assert status(client, run.info.run_id) == "FINISHED"


def test_unnamed_runs_get_fresh_names_under_a_fixed_python_seed(experiment_id) -> None:
    names = []
    for _ in range(2):
        random.seed(0)  # as seed_everything leaves it
        with tracked_run(experiment_id) as run:
            names.append(run.info.run_name)
    assert names[0] != names[1]


def test_a_run_leaves_pythons_random_state_as_it_was(experiment_id) -> None:
    random.seed(7)
    with tracked_run(experiment_id):
        drawn = random.random()
    assert drawn == random.Random(7).random()


def test_run_name_and_tags_are_given_and_secrets_masked(client, experiment_id, monkeypatch) -> None:
    monkeypatch.setenv("MY_API_TOKEN", SECRET)
    with tracked_run(experiment_id, run_name=f"lr-{SECRET}", tags={"note": SECRET}) as run:
        pass
    logged = client.get_run(run.info.run_id)
    assert (logged.info.run_name, logged.data.tags["note"]) == ("lr-***", "***")


def test_log_params_logs_the_flattened_config(client, run_id) -> None:
    log_params(client, run_id, {"seed": 1, "model": {"dropout": 0.2, "hidden_dims": [64]}})
    assert client.get_run(run_id).data.params == {
        "seed": "1",
        "model.dropout": "0.2",
        "model.hidden_dims": "[64]",
    }


def test_log_params_masks_secrets(client, run_id, monkeypatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    log_params(client, run_id, {"mlflow": {"tracking_uri": f"postgresql://u:{SECRET}@h/db"}})
    assert client.get_run(run_id).data.params == {"mlflow.tracking_uri": "postgresql://u:***@h/db"}


def test_log_params_logs_more_params_than_one_batch_holds(client, run_id) -> None:
    log_params(client, run_id, {f"key_{i:03d}": i for i in range(250)})
    assert len(client.get_run(run_id).data.params) == 250


def test_a_resumed_run_records_changed_values_as_override_tags(client, run_id) -> None:
    log_params(client, run_id, {"trainer": {"max_epochs": 5}, "seed": 1})
    log_params(client, run_id, {"trainer": {"max_epochs": 8}, "seed": 1})
    run = client.get_run(run_id)
    assert run.data.params == {"trainer.max_epochs": "5", "seed": "1"}  # params are immutable
    overrides = {k: v for k, v in run.data.tags.items() if k.startswith("override.")}
    assert overrides == {"override.trainer.max_epochs": "8"}


def test_a_resumed_run_logs_keys_it_did_not_have_as_params(client, run_id) -> None:
    log_params(client, run_id, {"seed": 1})
    log_params(client, run_id, {"seed": 1, "ema": {"decay": 0.99}})
    run = client.get_run(run_id)
    assert run.data.params == {"seed": "1", "ema.decay": "0.99"}
    assert not any(key.startswith("override.") for key in run.data.tags)


def git(path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=path, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git work tree with one commit of one file."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    (path / "train.py").write_text("print('hello')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "first")
    return path


def test_git_tags_name_the_commit_of_a_clean_work_tree(repo) -> None:
    assert git_tags(repo) == {"git_commit": git(repo, "rev-parse", "HEAD"), "git_dirty": "False"}


def test_a_changed_tracked_file_makes_the_work_tree_dirty(repo) -> None:
    (repo / "train.py").write_text("print('changed')\n")
    assert git_tags(repo)["git_dirty"] == "True"


def test_an_untracked_file_does_not_make_the_work_tree_dirty(repo) -> None:
    (repo / "notes.txt").write_text("scratch\n")
    assert git_tags(repo)["git_dirty"] == "False"


def test_git_tags_outside_a_repository_are_unknown(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_tags(tmp_path) == {"git_commit": "unknown", "git_dirty": "unknown"}


def test_environment_tags_say_what_makes_runs_comparable() -> None:
    tags = environment_tags("cpu", "Intel Xeon", "32-true", 1)
    assert set(tags) == {
        "accelerator",
        "device_name",
        "devices",
        "precision",
        "torch_version",
        "lightning_version",
        "cuda_version",
        "python_version",
        "host_cpu_count",
        "usable_cpus",
        "torch_threads",
    }
    assert (tags["accelerator"], tags["device_name"], tags["precision"], tags["devices"]) == (
        "cpu",
        "Intel Xeon",
        "32-true",
        "1",
    )
    assert all(isinstance(value, str) for value in tags.values())


def test_environment_tags_count_usable_cpus_and_torch_threads_now() -> None:
    tags = environment_tags("cpu", "cpu", "32-true", 1)
    assert (tags["usable_cpus"], tags["torch_threads"]) == (
        str(usable_cpus()),
        str(torch.get_num_threads()),
    )


def test_log_dataset_records_the_training_data_with_a_digest_mlflow_accepts(
    client, experiment_id
) -> None:
    features, targets = np.zeros((4, 784), np.uint8), np.arange(4)
    with tracked_run(experiment_id) as run:
        log_dataset("mnist", "synthetic digits", "ab" * 40, features, targets)
    (dataset_input,) = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert (dataset_input.dataset.name, dataset_input.dataset.digest) == (
        "mnist",
        ("ab" * 40)[:MAX_DIGEST_CHARS],
    )
    assert [tag.value for tag in dataset_input.tags] == ["training"]
