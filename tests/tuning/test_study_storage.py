"""Where a study is stored: the default journal beside the MLflow store; a malformed storage URL
is a one-line usage error."""

from __future__ import annotations

import pytest

from src.tune import main
from src.tuning.storage import locate
from tests.helpers import run_in_process


@pytest.mark.parametrize(
    "storage", ["postgresql://user@host:port/db", "nosuchdb://host/db", "just-a-name"]
)
def test_a_malformed_storage_is_a_one_line_usage_error(storage, capsys):
    code, _, err = run_in_process(main, ["--storage", storage, "--n-trials", "1"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and f"storage={storage!r}" in err


def test_the_default_journal_lives_beside_the_mlflow_sqlite_store(tmp_path):
    location = locate(None, f"sqlite:///{tmp_path}/mlflow.db")
    assert (location.kind, location.target) == ("journal", f"{tmp_path}/optuna-journal.log")
