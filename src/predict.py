"""`python -m src.predict`: classify image files or .npy arrays with a trained model.

Images (PNG, JPEG, anything Pillow reads) of any size are converted to grayscale, padded to a
square and resized to 28x28. MNIST digits are white on black: `--invert auto` (the default) inverts
images whose border is bright, i.e. dark ink on white paper.

Examples:
  python -m src.predict --model-uri models:/mnist-mlp@champion digit.png scan.jpg
  python -m src.predict --run-id 3f2c...e1 batch.npy --json   # (n, 784) or (n, 28, 28), 0-255
"""

from __future__ import annotations

import json

import numpy as np

from src.config.parsing import add_model_arguments, new_parser, parse_args
from src.runtime.main import run_main


def print_predictions(
    names: list[str], probabilities: np.ndarray, class_names, top: int = 3
) -> None:
    """Label, its probability and the runners-up; `--json` has every class's probability."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Predictions")
    table.add_column("input", overflow="fold")
    table.add_column("label", justify="center", style="bold")
    table.add_column("probability", justify="right")
    table.add_column("next most likely")
    for name, row in zip(names, probabilities, strict=True):
        order = np.argsort(-row, kind="stable")
        others = ", ".join(f"{class_names[i]} {row[i]:.3f}" for i in order[1:top])
        table.add_row(name, class_names[order[0]], f"{row[order[0]]:.3f}", others)
    Console().print(table)


def main(argv: list[str]) -> int:
    parser = new_parser("python -m src.predict", __doc__.split("\n\n")[0])
    add_model_arguments(parser)
    parser.add_argument("inputs", nargs="+", help="image files and/or .npy arrays")
    parser.add_argument("--invert", choices=["auto", "yes", "no"], default="auto")
    parser.add_argument("--top", type=int, default=3, help="classes shown per input (table)")
    parser.add_argument("--json", action="store_true", help="one JSON object per input")
    args = parse_args(parser, argv)
    from src.inference.images import load_inputs, predict
    from src.inference.loading import load_model

    names, images = load_inputs(args.inputs, args.invert)

    model = load_model(args.run_id, args.model_uri, args.checkpoint, args.tracking_uri)
    probabilities = predict(model, images)
    classes = model.class_names
    if args.json:
        for name, row in zip(names, probabilities, strict=True):
            label = classes[int(row.argmax())]
            probs = {c: round(float(p), 6) for c, p in zip(classes, row, strict=True)}
            print(json.dumps({"input": name, "label": label, "probabilities": probs}))
    else:
        print_predictions(names, probabilities, classes, max(1, args.top))
    return 0


if __name__ == "__main__":
    run_main(main)
