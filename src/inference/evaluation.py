"""Test metrics of a trained model, from the same metric code as training, beside the values
its training run logged."""

from __future__ import annotations

from dataclasses import dataclass

from src.data.sources import load_dataset


@dataclass
class Evaluation:
    metrics: dict[str, float]  # test/acc, test/f1, test/loss
    images: int
    logged: dict[str, float]  # the same metrics as the training run logged them, if known


def evaluate(model, data_dir: str | None = None, dataset: str | None = None) -> Evaluation:
    """Accuracy, macro F1 and loss (the run's loss function) on the dataset's test split."""
    import torch

    from src.models.losses import LOSSES
    from src.models.metrics import StageMetrics

    data = load_dataset(dataset or model.dataset, data_dir or model.data_dir)
    scores = model.scores(data.test_x)
    target = torch.from_numpy(data.test_y)
    metrics = StageMetrics(len(model.class_names))
    loss = LOSSES[model.loss](scores.float(), target, model.label_smoothing)
    metrics.update(loss, scores.argmax(-1), target)
    values = {f"test/{name}": float(value) for name, value in metrics.compute().items()}
    return Evaluation(values, len(target), _logged_metrics(model.run_id, model.source))


def _logged_metrics(run_id: str | None, source: str) -> dict[str, float]:
    if run_id is None or not source.startswith(("models:/", "runs:/")):
        return {}  # a checkpoint: its store is not known
    import mlflow

    metrics = mlflow.MlflowClient().get_run(run_id).data.metrics
    return {key: value for key, value in metrics.items() if key.startswith("test/")}
