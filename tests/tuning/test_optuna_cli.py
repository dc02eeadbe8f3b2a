"""Optuna's own command-line tool opens the project's study storage (a journal file), as
docs/tuning.md shows: `optuna trials` and `optuna best-trial` on a study made by src.tune."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from src.tune import main
from tests.helpers import load_study

OPTUNA = Path(sys.executable).parent / "optuna"


def optuna_cli(*words: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(OPTUNA), *words], capture_output=True, text=True, timeout=120, check=True
    )


def test_the_optuna_cli_reads_a_study_made_by_src_tune(new_study, mlflow_store):
    space = {"optimizer.lr": {"choices": [1.0e-2, 3.0e-2]}}
    path = new_study(
        "cli",
        search_space=space,
        sampler={"name": "grid", "seed": 0},
        n_trials=2,
    )
    assert main(["--config", str(path), "--train.trainer.max_epochs", "1"]) == 0
    journal = yaml.safe_load(path.read_text())["storage"]
    study = load_study(path)

    listed = json.loads(
        optuna_cli("trials", "--storage", journal, "--study-name", "cli", "-f", "json").stdout
    )
    assert sorted(row["value"] for row in listed) == sorted(t.value for t in study.trials)
    assert {row["params"]["optimizer.lr"] for row in listed} == {1.0e-2, 3.0e-2}

    best = json.loads(
        optuna_cli("best-trial", "--storage", journal, "--study-name", "cli", "-f", "json").stdout
    )
    assert best["number"] == study.best_trial.number
    assert best["value"] == study.best_value
    assert best["user_attrs"]["epochs"] == 1
