"""`repeats` in a study config: each trial as a group of K runs (seeds or folds), and which
pruners and objectives such trials allow. Imports no torch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from src.config.checks import check
from src.config.names import MEMBER_PRUNERS, PrunerName, names_of
from src.errors import ConfigError


@dataclass
class RepeatsConfig:
    """Each trial as a group of K runs, seeds or folds (set one), scored by their mean.

    A mean is not one seed's luck; every trial gets the same K seeds (or K folds), so members
    pair across trials for the Wilcoxon pruner and the best-vs-runner-up comparison."""

    seeds: int = 0
    """K >= 2: every trial trains with seeds train.seed, train.seed + 1, ..., + K - 1; 0: off."""
    folds: int = 0
    """K >= 2: every trial trains on each of K cross-validation folds of the training set
    (data.folds = K, stratified, seeded by data.split_seed); 0: off."""

    def __post_init__(self) -> None:
        for key in ("seeds", "folds"):
            value = getattr(self, key)
            check(value == 0 or value >= 2, f"repeats.{key}", "0 (off) or an int >= 2", value)
        if self.seeds and self.folds:
            raise ConfigError(
                f"repeats.seeds={self.seeds} and repeats.folds={self.folds}: set one of them"
                " (each trial repeats over seeds or over folds, not both)"
            )

    @property
    def count(self) -> int:
        """Members per trial: K, or 0 when repeats are off."""
        return self.seeds or self.folds

    @property
    def key(self) -> str:
        """The key that is set, for error messages: "repeats.seeds" or "repeats.folds"."""
        return "repeats.seeds" if self.seeds else "repeats.folds"


def check_repeats(
    repeats: RepeatsConfig,
    pruner: str,
    p_threshold: float,
    n_startup_steps: int,
    objectives: Sequence[str],
    train_folds: int,
) -> None:
    """Pruners and objectives that fit trials of one run or trials of K members, never mixed
    (the study config's pruner.name, pruner.p_threshold, pruner.n_startup_steps, objectives and
    train.data.folds)."""
    if not repeats.count:
        if pruner in MEMBER_PRUNERS:
            epoch_pruners = [n for n in names_of(PrunerName) if n not in MEMBER_PRUNERS]
            raise ConfigError(
                f"pruner.name={pruner!r} needs repeats.seeds or repeats.folds (K >= 3): it"
                " compares a trial's members with the best trial's; without repeats expected"
                f" one of {epoch_pruners}"
            )
        return
    shown = f"{repeats.key}={repeats.count}"
    if pruner not in (*MEMBER_PRUNERS, "none"):
        raise ConfigError(
            f"pruner.name={pruner!r} with {shown}: {pruner} reads per-epoch val/acc, while a"
            " trial with repeats reports one value per member; expected one of"
            f" {[*MEMBER_PRUNERS, 'none']}"
        )
    if pruner in MEMBER_PRUNERS:
        check_wilcoxon_can_prune(repeats, p_threshold, n_startup_steps)
    if repeats.folds and train_folds not in (0, repeats.folds):
        raise ConfigError(
            f"train.data.folds={train_folds} with {shown}: every trial uses {repeats.folds} folds;"
            f" expected train.data.folds 0 or {repeats.folds}"
        )
    # Members are reported to the trial as steps, which Optuna allows in single-objective studies
    # only, and a Pareto front has no runner-up to compare the best trial with.
    if len(objectives) > 1:
        raise ConfigError(
            f"objectives={list(objectives)} with {shown}: repeats need the single objective"
            " [val_acc] (members are reported as steps, which Optuna allows in single-objective"
            " studies only)"
        )


def check_wilcoxon_can_prune(
    repeats: RepeatsConfig, p_threshold: float, n_startup_steps: int
) -> None:
    """Refuse a Wilcoxon pruner that could never prune. Its exact one-sided p-value after n
    paired members is at least 2^-n (all n worse than the best trial's), Optuna compares no fewer
    than 2 (or n_startup_steps) members, and a trial is not pruned after its last member (nothing
    is left to save). So some n in [max(2, n_startup_steps), K - 1] needs 2^-n < p_threshold."""
    count, key = repeats.count, repeats.key
    last = count - 1  # the last member after which pruning still saves a run
    first = max(2, n_startup_steps)
    if last < first:
        raise ConfigError(
            f"pruner.name='wilcoxon' with {key}={count} can never prune: it compares at least"
            f" {first} members (pruner.n_startup_steps={n_startup_steps}, at least 2)"
            f" and never stops a trial after its last; expected {key} >= {first + 1}"
        )
    smallest = 2.0**-last
    if smallest >= p_threshold:
        raise ConfigError(
            f"pruner.p_threshold={p_threshold} with {key}={count} can never prune: after"
            f" {last} members the smallest Wilcoxon p-value is {smallest:g}; expected"
            f" p_threshold > {smallest:g}, or more repeats"
        )
