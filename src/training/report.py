"""What the user sees at the end of a run: one table with the results and where to find them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from src.training.run import TrainResult

DEFAULT_UI_URL = "http://127.0.0.1:5000"


def run_location(result: TrainResult) -> dict[str, str]:
    """Artifact folder and registered version of the run, looked up in its store (one request)."""
    from mlflow.tracking import MlflowClient

    from src.tracking.registry import REGISTERED_TAG

    try:
        run = MlflowClient(result.tracking_uri).get_run(result.run_id)
    except Exception:  # the summary must not fail a finished run; the store may be unreachable
        return {}
    found = {"artifacts": run.info.artifact_uri.removeprefix("file://")}
    if REGISTERED_TAG in run.data.tags:
        found["registered"] = run.data.tags[REGISTERED_TAG].replace("/", " version ")
    return found


def summary_rows(result: TrainResult) -> list[tuple[str, str]]:
    rows = [(name, f"{value:.4f}") for name, value in sorted(result.test_metrics.items())]
    if result.best_val_acc is not None:
        rows.append(("val/acc_best", f"{result.best_val_acc:.4f}"))
    rows += [
        ("epochs", str(result.epochs)),
        ("wall time", f"{result.wall_time_s:.1f} s"),
        ("MLflow run id", str(result.run_id)),
    ]
    location = run_location(result)
    if "artifacts" in location:
        rows.append(("artifacts (plots, model)", location["artifacts"]))
    if result.model_uri:
        rows.append(("model URI", result.model_uri))
    if "registered" in location:
        rows.append(("registered model", location["registered"]))
    rows.append(("best checkpoint", result.best_checkpoint or "-"))
    rows.append(("see it in the UI", ui_hint(result)))
    return rows


def ui_hint(result: TrainResult) -> str:
    """How to open this run's page: a server's URL, or the command that starts a local UI."""
    from src.tracking.store import resolve_tracking_uri

    page = f"#/experiments/{result.experiment_id}/runs/{result.run_id}"
    uri = result.tracking_uri
    if uri.startswith(("http://", "https://")):
        return f"{uri.rstrip('/')}/{page}"
    default_store = uri == resolve_tracking_uri()
    command = "invoke ui" if default_store else f"mlflow ui --backend-store-uri {uri}"
    return f"{command}, then {DEFAULT_UI_URL}/{page}"


def print_training_summary(result: TrainResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Training summary", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in summary_rows(result):
        table.add_row(name, value)
    Console().print(table)
