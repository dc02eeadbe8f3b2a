"""`python -m src.evaluate`: test metrics of a trained model, from the same metric code as training.

Examples:
  python -m src.evaluate --model-uri models:/mnist-mlp@champion
  python -m src.evaluate --run-id 3f2c...e1
  python -m src.evaluate --checkpoint checkpoints/mnist-mlp/3f2c...e1/best.ckpt --json
"""

from __future__ import annotations

import json
from typing import get_args

from src.config.names import DatasetName
from src.config.parsing import add_model_arguments, new_parser, parse_args
from src.runtime.main import run_main
from src.runtime.process import importing_libraries


def print_evaluation(model, result) -> None:
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
    with importing_libraries():
        from src.inference.evaluation import evaluate
        from src.inference.loading import load_model

    model = load_model(args.run_id, args.model_uri, args.checkpoint, args.tracking_uri)
    result = evaluate(model, args.data_dir, args.dataset)
    if args.json:
        print(json.dumps({**result.metrics, "images": result.images, "run_id": model.run_id}))
    else:
        print_evaluation(model, result)
    return 0


if __name__ == "__main__":
    run_main(main)
