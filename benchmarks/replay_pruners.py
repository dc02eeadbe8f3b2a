"""Replay a no-pruning study's learning curves through Optuna's pruners, in many trial orders.

  python -m benchmarks.bench_tune --only pruning --keep        # prints the kept scratch folder
  python -m benchmarks.replay_pruners /tmp/bench-tune-XXXX/journal.log --orders 100

Why: one pruning benchmark is one sequence of random configs, and with 30 trials the answer
depends on which configs come first. The no-pruning arm has every trial's full per-epoch val/acc
curve, and a pruned trial's curve is a prefix of the same trial run unpruned (same seed), so
feeding those curves to a real Optuna pruner trial by trial gives exactly what a real run with
that pruner would have done (checked: the median pruner's decisions matched a real arm trial for
trial). Replaying many orders shows how much a pruner setting saves and how often it keeps the
best trial, without rerunning any training. This is how the default study's pruner was chosen;
bench_tune's real arms then confirm it.
"""

from __future__ import annotations

import argparse
import random

import optuna
from optuna.pruners import BasePruner
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from src.config.parsing import parse_tune_config
from src.tuning.samplers import make_pruner

# Pruner settings as `python -m src.tune` overrides of the default study: each candidate is built
# by the product's own make_pruner, so a row is exactly what that setting would run.
CANDIDATES: dict[str, list[str]] = {
    "median, 5 start-up, 1 warm-up": ["--pruner.n_startup_trials=5", "--pruner.n_warmup_steps=1"],
    "median, 5 start-up, 0 warm-up": ["--pruner.n_startup_trials=5", "--pruner.n_warmup_steps=0"],
    "median, 3 start-up, 1 warm-up": ["--pruner.n_startup_trials=3", "--pruner.n_warmup_steps=1"],
    "median, 3 start-up, 0 warm-up": ["--pruner.n_startup_trials=3", "--pruner.n_warmup_steps=0"],
    "successive halving, r=1, eta=3": ["--pruner.name=successive_halving"],
    "hyperband, r=1, eta=3": ["--pruner.name=hyperband"],
}


def replay(curves: list[dict[int, float]], order: list[int], pruner: BasePruner):
    """(epochs run, best val acc of the completed trials) with `pruner`, trials in `order`."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    epochs, best = 0, 0.0
    for index in order:
        curve, trial, ran = curves[index], study.ask(), 0
        for step, value in curve.items():
            trial.report(value, step)
            ran += 1
            if trial.should_prune():
                break
        epochs += ran
        if ran < len(curve):
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, max(curve.values()))
            best = max(best, max(curve.values()))
    return epochs, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("journal", help="journal.log of a kept bench_tune scratch folder")
    parser.add_argument("--study", default="bench-pruning-none", help="the no-pruning study")
    parser.add_argument("--orders", type=int, default=100, help="random orders besides the real")
    parser.add_argument("--tolerance", type=float, default=0.1, help="best-acc margin, points")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    storage = JournalStorage(JournalFileBackend(args.journal))
    trials = optuna.load_study(study_name=args.study, storage=storage).trials
    curves = [dict(sorted(t.intermediate_values.items())) for t in trials if t.intermediate_values]
    total = sum(len(curve) for curve in curves)
    top = max(max(curve.values()) for curve in curves)
    rng = random.Random(0)
    orders = [list(range(len(curves)))]
    orders += [rng.sample(range(len(curves)), len(curves)) for _ in range(args.orders)]
    print(f"{len(curves)} trials, {total} epochs without pruning, best val acc {top:.4f}")
    print(
        "| pruner | epochs, measured order | epochs, median over orders (min-max) | "
        "best kept (±tolerance) | <= 50% and best kept |"
    )
    print("|---|---:|---:|---:|---:|")
    default = parse_tune_config([]).pruner
    for name, overrides in CANDIDATES.items():
        cfg = parse_tune_config(overrides)
        name += " (the default study's)" if cfg.pruner == default else ""
        results = [replay(curves, order, make_pruner(cfg)) for order in orders]
        ratios = sorted(epochs / total for epochs, _ in results)
        kept = [abs(best - top) * 100 <= args.tolerance for _, best in results]
        both = sum(k and e / total <= 0.5 for k, (e, _) in zip(kept, results, strict=True))
        print(
            f"| {name} | {results[0][0] / total:.0%} | {ratios[len(ratios) // 2]:.0%} "
            f"({ratios[0]:.0%}-{ratios[-1]:.0%}) | {sum(kept)}/{len(results)} | "
            f"{both}/{len(results)} |"
        )


if __name__ == "__main__":
    main()
