"""`src.evaluate`: the test metrics of a trained model, equal to the ones its run logged."""

from __future__ import annotations

import json

import pytest

from src import evaluate
from tests.helpers import REGISTERED, run_in_process


def evaluate_json(argv: list[str], capsys) -> dict:
    code, out, err = run_in_process(evaluate.main, [*argv, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def assert_same_metrics(found: dict, logged: dict) -> None:
    for key in ("test/acc", "test/f1", "test/loss"):
        assert found[key] == pytest.approx(logged[key], abs=1e-5), key


def test_evaluate_by_run_id_reproduces_the_logged_test_metrics(registered, capsys) -> None:
    good = registered["good"]
    found = evaluate_json(["--run-id", good.run_id], capsys)
    assert_same_metrics(found, good.test_metrics)
    assert found["images"] == 300 and found["run_id"] == good.run_id


def test_evaluate_champion_alias_uri(registered, capsys) -> None:
    found = evaluate_json(["--model-uri", f"models:/{REGISTERED}@champion"], capsys)
    assert_same_metrics(found, registered["good"].test_metrics)


def test_evaluate_checkpoint_reproduces_the_logged_test_metrics(registered, capsys) -> None:
    good = registered["good"]
    found = evaluate_json(["--checkpoint", good.best_checkpoint], capsys)
    assert_same_metrics(found, good.test_metrics)


def test_evaluate_prints_a_table_with_the_run_logged_values(registered, capsys) -> None:
    code, out, _ = run_in_process(evaluate.main, ["--run-id", registered["good"].run_id], capsys)
    assert code == 0
    assert "test/acc" in out and "logged by the run" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        ([], 2, "give exactly one of --run-id, --model-uri, --checkpoint"),
        (["--run-id", "a", "--checkpoint", "b.ckpt"], 2, "give exactly one of"),
        (["--run-id", "0" * 32], 2, "cannot load model"),
        (["--model-uri", "models:/no-such-model@champion"], 2, "cannot load model"),
        (["--checkpoint", "missing.ckpt"], 1, "missing.ckpt does not exist"),
        (["--bogus"], 2, "bogus"),
    ],
)
def test_evaluate_bad_input_is_one_line_without_traceback(
    registered, capsys, argv, code, message
) -> None:
    found_code, _, err = run_in_process(evaluate.main, argv, capsys)
    assert found_code == code
    assert message in err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_evaluate_rejects_a_file_that_is_not_a_checkpoint(registered, tmp_path, capsys) -> None:
    path = tmp_path / "junk.ckpt"
    path.write_bytes(b"not a checkpoint")
    code, _, err = run_in_process(evaluate.main, ["--checkpoint", str(path)], capsys)
    assert code == 2 and "not a readable checkpoint" in err
