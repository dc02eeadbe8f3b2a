"""Where and how a run is tracked: the `mlflow.*` section of the training configuration."""

from __future__ import annotations

from dataclasses import dataclass

from src.config.checks import check, finite


@dataclass
class MlflowConfig:
    experiment_name: str = "mnist-mlp"
    """MLflow experiment the run is logged under (created on first use)."""
    run_name: str | None = None
    """Name shown in the MLflow UI; null = a random name."""
    tracking_uri: str | None = None
    """Default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db."""
    log_model: bool = True
    """Log the trained network with mlflow.pytorch.log_model (servable, predicts raw pixels)."""
    log_plots: bool = True
    """Draw and log the run's figures: learning curves, confusion matrix, per-class accuracy and
    the most confidently misclassified test images (about 1 s a run on 2 vCPUs)."""
    register_model: str | None = None
    """Register the logged model under this name and point the `champion` alias at it."""
    system_metrics: bool = True
    """Log MLflow's system metrics with each run (`system/cpu_utilization_percentage`, memory,
    disk, network; GPU utilisation and memory on an NVIDIA GPU): the run page's System metrics."""
    system_metrics_interval_s: float = 5.0
    """Seconds between samples (MLflow's MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL, when set, wins);
    a run shorter than this still gets one sample, taken as it ends."""

    def __post_init__(self) -> None:
        # Each sample is a write to the store: sampling faster would cost more than it measures.
        check(
            finite(self.system_metrics_interval_s) and self.system_metrics_interval_s >= 0.1,
            "mlflow.system_metrics_interval_s",
            "a number of seconds >= 0.1",
            self.system_metrics_interval_s,
        )
        check(
            bool(self.experiment_name.strip()),
            "mlflow.experiment_name",
            "a non-empty name",
            self.experiment_name,
        )
        check(
            self.register_model is None or self.log_model,
            "mlflow.register_model",
            "null when mlflow.log_model is false (only a logged model can be registered)",
            self.register_model,
        )
