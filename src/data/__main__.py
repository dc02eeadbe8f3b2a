"""`python -m src.data fetch [--dataset mnist|fashion_mnist] [--data-dir DIR]`: fetch and cache
a dataset before the first run (CI does, so that tests never download)."""

from __future__ import annotations

import time

from src.data.dataset import DATASETS
from src.data.sources import load_dataset
from src.runtime.main import run_main


def main(argv: list[str]) -> int:
    import argparse  # a two-option maintenance command, not the training config schema

    parser = argparse.ArgumentParser(prog="python -m src.data", description="fetch and cache data")
    parser.add_argument("command", choices=["fetch"])
    parser.add_argument("--dataset", choices=DATASETS, default="mnist")
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = load_dataset(args.dataset, args.data_dir)
    print(
        f"{args.dataset}: train {data.train_x.shape[0]}, test {data.test_x.shape[0]} images "
        f"from {data.source} in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    run_main(main)
