"""Train the recipes in configs/experiments/ and print the results table (docs/results.md).

`python -m benchmarks.run_recipes [NAME ...] [--all] [--extra --trainer.accelerator=gpu ...]`.
Recipes are found by folder: by default the seed recipes and the default, the *.yaml directly in
configs/experiments/ (not best-*.yaml, which `python -m src.tune` writes there); `--all` adds the
accuracy attempts in configs/experiments/accuracy/ (40-300 epochs of 1024-4096-wide layers, hours
on a CPU) and the GPU recipes in configs/experiments/gpu/ (bf16 autocast, batch 4096: slow on a
CPU). A NAME is a file stem in any of these folders. Each recipe runs through `run_training` (the
path of `python -m src.train`) and is logged to MLflow as usual; with `--seeds N` each recipe is a
group of N seeds counting up from its own seed (the path of `python -m src.train --seeds N`), and
the table gives the mean test accuracy with its 95% Student t interval over the seeds. Rerunning
the same command resumes the groups: finished seeds are not trained again.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from src.config.parsing import parse_train_config
from src.groups.members import plan_group
from src.groups.runner import run_group
from src.stats.intervals import format_interval
from src.training.run import run_training

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "configs" / "experiments"
ALL_FOLDERS = (RECIPES, RECIPES / "accuracy", RECIPES / "gpu")  # --all: every one of them


def recipes_in(folders: tuple[Path, ...]) -> list[Path]:
    """The recipe files directly in each folder, folder by folder; tuning's best-* left out."""
    return [
        path
        for folder in folders
        for path in sorted(folder.glob("*.yaml"))
        if not path.stem.startswith("best-")
    ]


def find_recipe(name: str) -> Path:
    """The recipe whose file stem is `name` (a trailing .yaml is allowed), in any recipe folder."""
    stem = name.removesuffix(".yaml")
    found = [folder / f"{stem}.yaml" for folder in ALL_FOLDERS]
    found = [path for path in found if path.is_file()]
    if len(found) != 1:
        where = ", ".join(str(folder.relative_to(ROOT)) for folder in ALL_FOLDERS)
        problem = "no recipe" if not found else "more than one recipe"
        raise SystemExit(f"error: {name}: {problem} named {stem}.yaml in {where}")
    return found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names",
        nargs="*",
        help="recipe file stems, in any recipe folder (default: configs/experiments/*.yaml)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="also configs/experiments/accuracy/ and configs/experiments/gpu/",
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help="seeds per recipe (a group of runs when > 1)"
    )
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more overrides")
    args = parser.parse_args()
    if args.names:
        paths = [find_recipe(name) for name in args.names]
    else:
        paths = recipes_in(ALL_FOLDERS if args.all else (RECIPES,))
    rows = []
    for path in paths:
        cfg = parse_train_config(
            [f"--config={path}", "--trainer.enable_progress_bar=false", *args.extra]
        )
        row = {"recipe": str(path.relative_to(RECIPES).with_suffix(""))}
        row |= train_recipe(cfg, args.seeds)
        rows.append(row)
        print(json.dumps(rows[-1]), flush=True)
    print(f"\nmachine: {platform.machine()}, {platform.processor() or 'cpu'}")
    print(
        f"| recipe | test acc ({args.seeds} seeds: mean ± 95% t) | min–max | best val acc |"
        " epochs | training wall time |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        val = "no validation" if r["best_val_acc"] is None else f"{r['best_val_acc']:.2%}"
        print(
            f"| `{r['recipe']}` | {r['test_acc']} | {r['test_acc_range']} | {val} "
            f"| {r['epochs']:.0f} | {r['wall_time_s']:.0f} s |"
        )  # fmt: skip


def train_recipe(cfg, seeds: int) -> dict:
    """One run, or a group of `seeds` runs: the table's numbers, means over the seeds."""
    if seeds == 1:
        result = run_training(cfg)
        acc = result.test_metrics.get("test/acc")
        return {
            "test_acc": f"{acc:.2%}", "test_acc_range": "1 seed",
            "best_val_acc": result.best_val_acc, "epochs": result.epochs,
            "wall_time_s": result.wall_time_s, "run_id": result.run_id,
        }  # fmt: skip
    cfg, members = plan_group(cfg, str(seeds), None)
    group = run_group(cfg, members)
    acc = group.intervals["test/acc"]
    val = group.intervals.get("val/acc_best")
    return {
        "test_acc": format_interval(acc, 100, 2) + "%",
        "test_acc_range": f"{acc.minimum:.2%}–{acc.maximum:.2%}",
        "best_val_acc": val.mean if val else None,
        "epochs": group.intervals["epochs"].mean,
        "wall_time_s": group.intervals["wall_time_s"].mean,
        "run_id": group.parent_run_id,
        "n": acc.n,
    }  # fmt: skip


if __name__ == "__main__":
    main()
