"""`python -m src.evaluate`: test metrics of a trained model, from the same metric code as training.

Examples:
  python -m src.evaluate --model-uri models:/mnist-mlp@champion
  python -m src.evaluate --run-id 3f2c...e1
  python -m src.evaluate --checkpoint checkpoints/mnist-mlp/3f2c...e1/best.ckpt --json
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import get_args

from src.cli import new_parser, parse_args, run_main
from src.config import DatasetName


@dataclass
class Evaluation:
    metrics: dict[str, float]  # test/acc, test/f1, test/loss
    images: int
    logged: dict[str, float]  # the same metrics as the training run logged them, if known


def evaluate(model, data_dir: str | None = None, dataset: str | None = None) -> Evaluation:
    """Accuracy, macro F1 and loss (the run's loss function) on the dataset's test split."""
    import torch

    from src.data import load_dataset
    from src.model import LOSSES, StageMetrics

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


def print_evaluation(model, result: Evaluation) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Evaluation of {model.source}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("logged by the run", justify="right")
    for name, value in result.metrics.items():
        logged = result.logged.get(name)
        table.add_row(name, f"{value:.4f}", "-" if logged is None else f"{logged:.4f}")
    table.caption = f"{result.images} {model.dataset} test images; run {model.run_id or '-'}"
    Console().print(table)


def main(argv: list[str]) -> int:
    parser = new_parser("python -m src.evaluate", __doc__.split("\n\n")[0])
    add_model_arguments(parser)
    parser.add_argument("--data-dir", help="default: the data_dir the model was trained with")
    parser.add_argument("--dataset", choices=get_args(DatasetName), help="default: trained")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = parse_args(parser, argv)
    from src.registry import load_model

    model = load_model(args.run_id, args.model_uri, args.checkpoint, args.tracking_uri)
    result = evaluate(model, args.data_dir, args.dataset)
    if args.json:
        print(json.dumps({**result.metrics, "images": result.images, "run_id": model.run_id}))
    else:
        print_evaluation(model, result)
    return 0


def add_model_arguments(parser) -> None:
    """Where the model comes from: shared by src.evaluate and src.predict."""
    parser.add_argument("--run-id", help="MLflow run id: loads runs:/<id>/model")
    parser.add_argument("--model-uri", help="models:/NAME@champion, models:/NAME/3, runs:/ID/model")
    parser.add_argument("--checkpoint", help="a .ckpt written by src.train")
    parser.add_argument("--tracking-uri", help="default: $MLFLOW_TRACKING_URI or mlruns/")


if __name__ == "__main__":
    run_main(main)
