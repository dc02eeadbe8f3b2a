"""Train every seed recipe in configs/experiments/ and print the README's results table.

`python -m benchmarks.run_recipes [NAME ...] [--extra --trainer.accelerator=gpu ...]`. Each recipe
runs through `run_training` (the path of `python -m src.train`) and is logged to MLflow as usual.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from src.cli import parse_train_config
from src.train import run_training

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "configs" / "experiments"
# Left out unless named or --all: the 98.9% accuracy attempts (40-300 epochs of 1024-4096-wide
# layers, hours on a CPU) and the GPU recipes (bf16 autocast, batch 4096: slow on a CPU).
LONG = ("dropout_maxnorm_", "gpu_")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", help="recipe file stems (default: all but best-* and the long ones)"
    )
    parser.add_argument(
        "--all", action="store_true", help="include the dropout_maxnorm_* and gpu_* recipes"
    )
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more overrides")
    args = parser.parse_args()
    paths = [RECIPES / f"{name}.yaml" for name in args.names] or sorted(
        p
        for p in RECIPES.glob("*.yaml")
        if not p.stem.startswith("best-") and (args.all or not p.stem.startswith(LONG))
    )
    rows = []
    for path in paths:
        cfg = parse_train_config(
            [f"--config={path}", "--trainer.enable_progress_bar=false", *args.extra]
        )
        result = run_training(cfg)
        rows.append({
            "recipe": path.stem,
            "test_acc": result.test_metrics.get("test/acc"),
            "best_val_acc": result.best_val_acc,
            "epochs": result.epochs,
            "wall_time_s": result.wall_time_s,
            "run_id": result.run_id,
        })  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    print(f"\nmachine: {platform.machine()}, {platform.processor() or 'cpu'}")
    print("| recipe | test acc | best val acc | epochs | training wall time |")
    print("|---|---|---|---|---|")
    for r in rows:
        val = "no validation" if r["best_val_acc"] is None else f"{r['best_val_acc']:.2%}"
        print(
            f"| `{r['recipe']}` | {r['test_acc']:.2%} | {val} | {r['epochs']} "
            f"| {r['wall_time_s']:.0f} s |"
        )


if __name__ == "__main__":
    main()
