"""The tuning-study configuration: one schema, derived from the type hints below.

Parsed by jsonargparse like the training config: `--config configs/tune/NAME.yaml`, dotted
overrides (`--train.trainer.max_epochs 3`, `--pruner.name none`) and `--print_config`. The base
training config sits under `train:`, inline or as a path to a training YAML. The module imports no
torch, so `python -m src.tune --help` and config errors stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from src.config.checks import check
from src.config.constraints import Bound, check_constraints
from src.config.names import (
    OBJECTIVE_DIRECTIONS,
    SINGLE_OBJECTIVE_SAMPLERS,
    Objective,
    PrunerName,
    SamplerName,
)
from src.config.repeats import RepeatsConfig, check_repeats
from src.config.search_space import ParamRange, check_search_space
from src.config.stopping import StopConfig
from src.config.train import TrainConfig
from src.errors import ConfigError


@dataclass
class SamplerConfig:
    name: SamplerName = "tpe"
    """tpe (multivariate; also multi-objective), gp (Gaussian-process Bayesian optimization,
    single- or multi-objective), nsga2 (genetic, for several objectives), cmaes (CMA-ES, single
    objective; categorical keys are sampled at random), random, or grid (choices or steps)."""
    seed: int | None = 0
    """Makes a fresh study run by one worker reproducible; parallel workers and resumed studies
    derive their own seeds from it, so they never replay the same samples."""
    n_startup_trials: int = 5
    """tpe, gp, cmaes: random trials before the model-based proposals start."""
    population_size: int = 10
    """nsga2: trials per generation."""

    def __post_init__(self) -> None:
        check(
            self.n_startup_trials >= 0,
            "sampler.n_startup_trials",
            "an int >= 0",
            self.n_startup_trials,
        )
        check(
            self.population_size >= 2,
            "sampler.population_size",
            "an int >= 2",
            self.population_size,
        )


@dataclass
class PrunerConfig:
    """Stops unpromising trials early (single objective only): on their per-epoch `val/acc`, or,
    for wilcoxon with `repeats`, on their members' values against the best trial's."""

    name: PrunerName = "median"
    n_startup_trials: int = 5
    """median: trials that finish before any is pruned."""
    n_warmup_steps: int = 1
    """median, threshold: epochs a trial always gets before it can be pruned."""
    min_resource: int = 1
    """hyperband, successive_halving: epochs every trial gets."""
    reduction_factor: int = 3
    """hyperband, successive_halving: keep 1/reduction_factor of the trials at each rung."""
    lower: float | None = None
    """threshold: prune a trial whose val/acc is below this."""
    p_threshold: float = 0.3
    """wilcoxon: prune when the one-sided signed-rank p-value (this trial's members worse than
    the best trial's, paired by seed or fold) is below this. After n members the exact p-value is
    at least 2^-n (0.5, 0.25, 0.125, 0.0625, ...: all n worse), so 0.3 prunes after 2 members
    that are both worse, and Optuna's default 0.1 no earlier than the 4th (docs/tuning.md)."""
    n_startup_steps: int = 2
    """wilcoxon: members a trial always gets before it can be pruned (one seed is no evidence)."""

    def __post_init__(self) -> None:
        for key in ("n_startup_trials", "n_warmup_steps", "n_startup_steps"):
            value = getattr(self, key)
            check(value >= 0, f"pruner.{key}", "an int >= 0", value)
        check(self.min_resource >= 1, "pruner.min_resource", "an int >= 1", self.min_resource)
        check(
            self.reduction_factor >= 2,
            "pruner.reduction_factor",
            "an int >= 2",
            self.reduction_factor,
        )
        check(
            0 < self.p_threshold < 1, "pruner.p_threshold", "a number in (0, 1)", self.p_threshold
        )
        check(
            self.name != "threshold" or self.lower is not None,
            "pruner.lower",
            "a number when pruner.name is threshold",
            self.lower,
        )


@dataclass
class TuneConfig:
    """A study: what to vary, how to search, how long, and where its trials are stored."""

    train: TrainConfig = field(default_factory=TrainConfig)
    """The base training config every trial starts from (inline, or a path to a training YAML)."""
    search_space: dict[str, ParamRange] = field(default_factory=dict)
    study_name: str = "mnist-mlp"
    """Re-running with the same name (and storage) resumes the study."""
    objectives: list[Objective] = field(default_factory=lambda: ["val_acc"])
    """val_acc (the best validation accuracy of the trial, maximized), optionally followed by
    param_count or latency_ms (minimized) for a multi-objective study."""
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    pruner: PrunerConfig = field(default_factory=PrunerConfig)
    repeats: RepeatsConfig = field(default_factory=RepeatsConfig)
    """Off by default: one run per trial."""
    constraints: dict[str, Bound] = field(default_factory=dict)
    """Bounds a trial must meet to count, e.g. {params: {max: 300000}, latency_ms: {max: 0.5}}:
    infeasible trials are kept and marked, never best, never on the Pareto front."""
    stop: StopConfig = field(default_factory=StopConfig)
    """End a single-objective study early: at a target val_acc, or after `patience` trials
    without improvement."""
    enqueue: list[dict[str, Any] | str] = field(default_factory=list)
    """Trials to run first, once (a resumed study skips them): dotted-key dicts
    ({model.dropout: 0.1}) or training YAMLs such as an earlier study's best-<study>.yaml (its
    search-space keys only). `--enqueue FILE` on the command line adds one."""
    n_trials: int = 20
    """Finished (complete or pruned) trials the study should hold; workers stop there, and a
    re-run resumes up to it (raise it to add trials)."""
    timeout: float | None = None
    """Seconds this invocation may run trials: none starts after it, and one still training then
    stops after its current batch and fails (a resumed study replaces it)."""
    storage: str | None = None
    """A database URL (postgresql://user:password@host/db) for several machines, or a journal
    file (*.log); default: optuna-journal.log beside the MLflow sqlite store (mlruns/)."""
    heartbeat_interval: int = 10
    """Database storages: seconds between a running trial's heartbeats."""
    grace_period: int = 30
    """Database storages: seconds without a heartbeat after which a trial is failed and retried."""
    n_jobs: int = 1
    """Worker processes on this machine, each with its share of the CPU threads."""
    retrain_best: bool = False
    """After the study, train the best config with a test-set evaluation."""
    register_model: str | None = None
    """With retrain_best: register the retrained model under this name (alias `champion` goes to
    the version with the best val/acc_best)."""
    best_config_dir: str = "configs/experiments"
    """Where best-<study>.yaml is written for `python -m src.train --config`."""
    trial_plots: bool = False
    """Draw each trial's figures too (learning curves, validation confusion matrix, per-class
    accuracy): 0.5 s a trial on 2 vCPUs, for charts MLflow draws from the logged metrics anyway.
    The study's own figures and a retrained best run's are drawn either way."""

    def __post_init__(self) -> None:
        check(bool(self.study_name.strip()), "study_name", "a non-empty name", self.study_name)
        check(self.n_trials > 0, "n_trials", "an int > 0", self.n_trials)
        check(
            self.register_model is None or self.retrain_best,
            "register_model",
            "only with retrain_best: true (trials log no model)",
            self.register_model,
        )
        check(self.n_jobs > 0, "n_jobs", "an int > 0", self.n_jobs)
        check(
            self.timeout is None or self.timeout > 0, "timeout", "null or seconds > 0", self.timeout
        )
        check(
            self.heartbeat_interval > 0, "heartbeat_interval", "an int > 0", self.heartbeat_interval
        )
        check(
            self.grace_period > self.heartbeat_interval,
            "grace_period",
            f"more seconds than heartbeat_interval ({self.heartbeat_interval})",
            self.grace_period,
        )
        objectives = list(self.objectives)
        check(
            objectives[:1] == ["val_acc"] and len(set(objectives)) == len(objectives),
            "objectives",
            "val_acc first, then optionally param_count or latency_ms",
            objectives,
        )
        if not self.search_space:
            raise ConfigError("search_space is empty: give at least one training key to vary")
        check_search_space(self.search_space, grid=self.sampler.name == "grid")
        check(
            self.train.data.validates or self.repeats.folds > 0,  # a fold validates too
            "train.data.val_size",
            "> 0 (trials are scored on the validation set)",
            self.train.data.val_size,
        )
        check(
            self.train.ckpt_path is None,
            "train.ckpt_path",
            "null (every trial trains from scratch)",
            self.train.ckpt_path,
        )
        pruner = self.pruner
        check_repeats(
            self.repeats,
            pruner.name,
            pruner.p_threshold,
            pruner.n_startup_steps,
            self.objectives,
            self.train.data.folds,
        )
        check_constraints(self.constraints)
        if self.constraints and self.repeats.count:
            raise ConfigError(
                "constraints are measured on single-run trials only, but repeats gives each trial"
                f" {self.repeats.count} members: remove constraints or repeats"
            )
        if self.multi_objective and self.sampler.name in SINGLE_OBJECTIVE_SAMPLERS:
            raise ConfigError(
                f"sampler.name={self.sampler.name!r} optimizes one objective, but objectives has"
                f" {len(self.objectives)}: use tpe, gp or nsga2, or a single objective"
            )
        if self.multi_objective and self.stop.enabled:
            raise ConfigError(
                "stop works with one objective (a best value to reach or improve), but objectives"
                f" has {len(self.objectives)}: remove stop or keep objectives: [val_acc]"
            )

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def directions(self) -> list[str]:
        return [OBJECTIVE_DIRECTIONS[name] for name in self.objectives]
