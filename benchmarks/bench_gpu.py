"""GPU benchmarks: `python -m benchmarks.bench_gpu` on a CUDA GPU (tables: benchmarks/README.md).

  1. epoch: training-epoch time of 784-512-256-10 (Adam, no dropout) per batch size and precision,
     through the project's build path, next to a hand-written PyTorch loop over the same GPU
     tensors (same network, same steps), alternately, several repetitions;
  2. compile: the same with `model.compile true` (torch.compile), which stays opt-in;
  3. time_to_98: seconds of fit until the test accuracy first reaches 98.0% with the large-batch
     recipe configs/experiments/gpu/gpu_fast.yaml, per batch size and seed (the test set is read
     only to time it; the recipe was chosen without it, see docs/results.md);
  4. command: the whole `python -m src.train --config configs/experiments/gpu/gpu_fast.yaml`
     (start-up, data, MLflow logging, test, model upload), as a user runs it.

`--accelerator cpu` runs the same code on the CPU (a dry run; it is how the recipe's batch sizes
and learning rates were tried before a GPU was lent).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning.pytorch as L
import torch

from benchmarks.bench_training import bench_time_to_98, config, project_epoch, raw_epoch, summarise
from src.config.parsing import parse_train_config
from src.data.datamodule import MNISTDataModule
from src.runtime.threads import configure_threads

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "experiments" / "gpu" / "gpu_fast.yaml"
TARGETS = {"epoch_s": 0.030, "time_to_98_s": 1.0}  # issue 4, on an H100


def machine(accelerator: str) -> dict:
    info = {"torch": torch.__version__, "lightning": L.__version__, "cuda": torch.version.cuda}
    if accelerator != "cpu":
        props = torch.cuda.get_device_properties(0)
        info |= {"device": props.name, "memory_gib": round(props.total_memory / 2**30, 1)}
    else:
        info["device"] = "cpu"
    return info


def bench_epochs(dm, accel, batches, precisions, reps, epochs, compile_=False) -> list[dict]:
    rows = []
    for precision in precisions:
        for batch in batches:
            extra = [f"--trainer.accelerator={accel}", "--trainer.devices=1",
                     f"--trainer.precision={precision}", f"--data.batch_size={batch}",
                     f"--model.compile={str(compile_).lower()}"]  # fmt: skip
            dm.batch_size = batch  # the fit uses the datamodule's batch size
            ours, theirs = [], []
            for rep in range(reps):
                theirs.append(raw_epoch(dm, rep, config(f"--seed={rep}", *extra), epochs))
                timer = project_epoch(dm, rep, epochs=epochs, extra=extra)
                ours.append(statistics.median(timer.train_s[1:]))
            row = summarise(f"epoch, batch {batch}, {precision}", ours, theirs)
            row |= {"batch_size": batch, "precision": precision, "compile": compile_,
                    "steps": -(-len(dm._splits["train"][0]) // batch)}  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def bench_time_to_98_sweep(dm, accel, batches, seeds, extra) -> list[dict]:
    rows = []
    for batch in batches:
        for seed in range(seeds):
            cfg = parse_train_config([
                f"--config={RECIPE}", f"--data.batch_size={batch}", f"--seed={seed}",
                f"--trainer.accelerator={accel}", "--trainer.enable_progress_bar=false", *extra,
            ])  # fmt: skip
            dm.batch_size, dm.eval_batch_size = batch, cfg.data.eval_batch_size
            row = bench_time_to_98(dm, cfg, f"{RECIPE.name}, batch {batch}, seed {seed}")
            row |= {"batch_size": batch, "seed": seed, "lr": cfg.optimizer.lr,
                    "precision": cfg.trainer.precision}  # fmt: skip
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
    return rows


def bench_command(accel: str, reps: int) -> dict:
    times = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as store:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "src.train", f"--config={RECIPE}",
                 f"--trainer.accelerator={accel}", "--trainer.enable_progress_bar=false",
                 f"--mlflow.tracking_uri=sqlite:///{store}/mlflow.db",
                 f"--checkpoint_dir={store}/checkpoints"],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
            times.append(time.perf_counter() - start)
    return {"name": f"python -m src.train --config {RECIPE.relative_to(ROOT)}",
            "median_s": statistics.median(times), "range_s": [min(times), max(times)]}  # fmt: skip


def mark(met: bool) -> str:
    return "✔" if met else "✘"


def markdown(results: dict) -> str:
    m = results["machine"]
    head = f"{m['device']}, torch {m['torch']} (CUDA {m['cuda']}), Lightning {m['lightning']}"
    lines = [head, "",
             "| batch | precision | compile | steps/epoch | this project (median, range) "
             f"| raw PyTorch loop | ratio | ≤ {TARGETS['epoch_s'] * 1e3:g} ms |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results.get("epoch", []) + results.get("compile", []):
        lo, hi = r["ours_range_s"]
        lines.append(
            f"| {r['batch_size']} | {r['precision']} | {'yes' if r['compile'] else 'no'} "
            f"| {r['steps']} | {r['ours_median_s'] * 1e3:.1f} ms ({lo * 1e3:.1f}–{hi * 1e3:.1f}) "
            f"| {r['theirs_median_s'] * 1e3:.1f} ms | {r['ratio_median']:.2f}× "
            f"| {mark(r['ours_median_s'] <= TARGETS['epoch_s'])} |"
        )
    t98 = results.get("time_to_98", [])
    if t98:
        target = f"≤ {TARGETS['time_to_98_s']:g} s"
        lines += ["", "| recipe | batch | seed | time to 98.0% test | epochs | whole fit "
                  f"| {target} |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in t98:
            reached = f"{r['seconds']:.2f} s" if r["epochs"] else "not reached"
            met = r["epochs"] is not None and r["seconds"] <= TARGETS["time_to_98_s"]
            lines.append(
                f"| {RECIPE.name} ({r['precision']}, lr {r['lr']}) | {r['batch_size']} "
                f"| {r['seed']} | {reached} | {r['epochs']} | {r['fit_s']:.2f} s | {mark(met)} |"
            )
    c = results.get("command")
    if c:
        lines += ["", f"{c['name']}: {c['median_s']:.1f} s median "
                  f"({c['range_s'][0]:.1f}–{c['range_s'][1]:.1f})"]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accelerator", default="gpu", choices=["gpu", "cpu"])
    parser.add_argument("--only", nargs="*", default=["epoch", "compile", "time_to_98", "command"])
    parser.add_argument("--batches", nargs="*", type=int,
                        default=[128, 512, 1024, 2048, 4096, 8192, 16384])  # fmt: skip
    parser.add_argument("--precisions", nargs="*", default=["32-true", "bf16-mixed"])
    parser.add_argument("--compile-batches", nargs="*", type=int, default=[4096])
    parser.add_argument("--compile-reps", type=int, default=1, help="each compiles for seconds")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=6, help="per fit; the first is warm-up")
    parser.add_argument("--t98-batches", nargs="*", type=int, default=[1024, 2048, 4096, 8192])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--extra", nargs=argparse.REMAINDER, default=[], help="more overrides for time_to_98 (last)"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results-gpu.json")
    args = parser.parse_args()
    if args.accelerator == "gpu" and not torch.cuda.is_available():
        sys.exit("error: no CUDA GPU visible; use --accelerator cpu for a dry run")
    configure_threads(1)
    dm = MNISTDataModule(val_size=5000)
    dm.prepare_data()
    dm.setup("fit")
    results: dict = {"machine": machine(args.accelerator)}
    accel = args.accelerator
    if "epoch" in args.only:
        results["epoch"] = bench_epochs(
            dm, accel, args.batches, args.precisions, args.reps, args.epochs
        )
    if "compile" in args.only:
        results["compile"] = bench_epochs(
            dm, accel, args.compile_batches, ["bf16-mixed"], args.compile_reps, args.epochs, True
        )
    if "time_to_98" in args.only:
        results["time_to_98"] = bench_time_to_98_sweep(
            dm, accel, args.t98_batches, args.seeds, args.extra
        )
    if "command" in args.only:
        results["command"] = bench_command(accel, args.reps)
    args.json.write_text(json.dumps(results, indent=2))
    print(markdown(results))


if __name__ == "__main__":
    main()
