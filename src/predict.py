"""`python -m src.predict`: classify image files or .npy arrays with a trained model.

Photos and scans (PNG, JPEG, anything Pillow reads) of any size are prepared as the MNIST database
prepared its digits: the paper is estimated and removed (paper black, ink bright), the ink's
bounding box is scaled to fit 20x20 keeping its aspect ratio, and placed in 28x28 centred on its
centre of mass. `--invert auto` (the default) judges from the page whether the ink is darker than
the paper; `always` and `never` decide it. 28x28 images and .npy arrays are used as they are, but
for the polarity. `--show-preprocessed DIR` saves what the network saw, as PNGs.

Examples:
  python -m src.predict --model-uri models:/mnist-mlp@champion digit.png scan.jpg
  python -m src.predict --run-id 3f2c...e1 photo.jpg --show-preprocessed seen/
  python -m src.predict --run-id 3f2c...e1 batch.npy --json   # (n, 784) or (n, 28, 28), 0-255
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from src.config.parsing import add_model_arguments, new_parser, parse_args
from src.runtime.main import run_main
from src.runtime.process import importing_libraries


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
    parser.add_argument(
        "--invert",
        choices=["auto", "always", "never", "yes", "no"],  # yes/no: the older names
        default="auto",
        help="dark ink on light paper? auto: judged from the page (yes = always, no = never)",
    )
    parser.add_argument(
        "--show-preprocessed",
        metavar="DIR",
        help="save each 28x28 image the network saw as a PNG in DIR (8x enlarged)",
    )
    parser.add_argument("--top", type=int, default=3, help="classes shown per input (table)")
    parser.add_argument("--json", action="store_true", help="one JSON object per input")
    args = parse_args(parser, argv)
    with importing_libraries():
        from src.inference.images import load_inputs, predict, save_preprocessed
        from src.inference.loading import load_model

    names, images = load_inputs(args.inputs, args.invert)
    if args.show_preprocessed:
        folder = Path(args.show_preprocessed)
        saved = save_preprocessed(names, images, folder)
        print(f"saved what the network saw ({len(saved)} PNGs) in {folder}/", file=sys.stderr)

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
