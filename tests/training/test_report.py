"""The summary printed after a training run."""

from __future__ import annotations


def test_summary_shows_metrics_run_id_and_where_the_artifacts_are(finished_run) -> None:
    _, run, printed = finished_run
    for label in ("test/acc", "epochs", "wall time", "artifacts", "model URI", "invoke ui"):
        assert label in printed
    assert run.info.run_id in printed.replace("\n", "").replace("│", "").replace(" ", "")
