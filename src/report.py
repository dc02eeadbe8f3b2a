"""What the user sees at the end of a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from src.train import TrainResult


def print_summary(result: TrainResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Training summary", show_header=False)
    for name, value in sorted(result.test_metrics.items()):
        table.add_row(name, f"{value:.4f}")
    if result.best_val_acc is not None:
        table.add_row("val/acc_best", f"{result.best_val_acc:.4f}")
    table.add_row("epochs", str(result.epochs))
    table.add_row("wall time", f"{result.wall_time_s:.1f} s")
    table.add_row("MLflow run id", str(result.run_id))
    table.add_row("best checkpoint", result.best_checkpoint or "-")
    table.add_row("open the UI", f"mlflow ui --backend-store-uri {result.tracking_uri}")
    Console().print(table)
