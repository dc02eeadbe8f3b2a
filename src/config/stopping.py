"""When a study is done before n_trials (`stop: {target: 0.985}` or `stop: {patience: 20}`)."""

from __future__ import annotations

from dataclasses import dataclass

from src.config.checks import check, finite


@dataclass
class StopConfig:
    """Ends a single-objective study early; each worker checks between trials, on the shared
    storage, so parallel workers and other machines stop too (a trial under way finishes)."""

    target: float | None = None
    """Stop once a feasible trial's val_acc reaches this (>= for a maximized objective)."""
    patience: int | None = None
    """Stop after this many finished trials in a row (complete or pruned, in the order they
    ended) without a better feasible best value than before them."""

    def __post_init__(self) -> None:
        check(
            self.target is None or finite(self.target),
            "stop.target",
            "null or a finite number",
            self.target,
        )
        check(
            self.patience is None or self.patience >= 1,
            "stop.patience",
            "null or an int >= 1",
            self.patience,
        )

    @property
    def enabled(self) -> bool:
        return self.target is not None or self.patience is not None
