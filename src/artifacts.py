"""What a finished training run leaves in MLflow: config, plots, the model."""

from __future__ import annotations

import dataclasses

from src.config import TrainConfig


def log_run_outputs(
    client, run_id: str, cfg: TrainConfig, module, datamodule
) -> tuple[list[float], str | None]:
    """Config YAML, plots and model into the active run; returns (val/acc history, model URI)."""
    import mlflow
    import numpy as np
    import yaml

    from src import plots, tracking

    mlflow.log_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False), "config.yaml")
    history = {
        key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)]
        for key in ("train/loss", "val/loss", "train/acc", "val/acc")
    }
    val_history = [value for _, value in sorted(history["val/acc"])]
    figures = {"plots/learning_curves.png": plots.learning_curves(history)}
    for stage in ("test", "val"):
        if stage in module.last_confusion:
            matrix = module.last_confusion[stage].numpy()
            figures[f"plots/confusion_matrix_{stage}.png"] = plots.confusion_matrix(
                matrix, datamodule.class_names, f"{stage} confusion matrix"
            )
            break
    for path, figure in figures.items():
        mlflow.log_figure(figure, path)
        plots.close(figure)
    model_uri = None
    if cfg.mlflow.log_model:
        example = datamodule.arrays.test_x[:4].astype(np.float32)
        info = tracking.log_model(module.net, example, registered_name=cfg.mlflow.register_model)
        model_uri = info.model_uri
    return val_history, model_uri
