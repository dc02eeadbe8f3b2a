"""Optuna's samplers and pruners by name (`sampler.name`, `pruner.name`), and the sampler seed
each worker takes."""

from __future__ import annotations

import warnings
import zlib

import optuna

from src.config.names import CONSTRAINT_BLIND_SAMPLERS, PrunerName, SamplerName, by_name
from src.config.tune import TuneConfig
from src.tuning.search import grid
from src.tuning.storage import StorageLocation, worker_id


def sampler_seed(
    seed: int | None, worker_index: int, existing_trials: int, location: StorageLocation
) -> int | None:
    """`seed` itself for a fresh study run by one worker (reproducible); otherwise a seed salted
    with the worker index and the trials already there, so that parallel workers and resumed
    studies do not replay the same samples, and on a shared database also with host and PID,
    since workers on several machines start alike."""
    if seed is None:
        return None
    if worker_index == 0 and existing_trials == 0 and location.kind == "journal":
        return seed
    salt = f"{seed}:{worker_index}:{existing_trials}"
    if location.kind == "database":
        salt += f":{worker_id()}"
    return zlib.crc32(salt.encode())


# name -> (study config, sampler seed) -> sampler
SAMPLERS = by_name(
    SamplerName,
    {
        "tpe": lambda cfg, seed: optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=cfg.sampler.n_startup_trials, multivariate=True
        ),
        "random": lambda cfg, seed: optuna.samplers.RandomSampler(seed=seed),
        "grid": lambda cfg, seed: optuna.samplers.GridSampler(grid(cfg.search_space), seed=seed),
        "nsga2": lambda cfg, seed: optuna.samplers.NSGAIISampler(
            seed=seed, population_size=cfg.sampler.population_size
        ),
        # Trial scores are noisy (data order, initialization): not a deterministic objective.
        "gp": lambda cfg, seed: optuna.samplers.GPSampler(
            seed=seed, n_startup_trials=cfg.sampler.n_startup_trials
        ),
        # CMA-ES handles numbers only; categorical keys go to its random independent sampler,
        # which the study notes once (src/tuning/study.py) instead of a warning per trial.
        "cmaes": lambda cfg, seed: optuna.samplers.CmaEsSampler(
            seed=seed,
            n_startup_trials=cfg.sampler.n_startup_trials,
            warn_independent_sampling=False,
        ),
    },
)
# name -> (pruner config, max epochs) -> pruner
PRUNERS = by_name(
    PrunerName,
    {
        "median": lambda p, epochs: optuna.pruners.MedianPruner(
            n_startup_trials=p.n_startup_trials, n_warmup_steps=p.n_warmup_steps
        ),
        "hyperband": lambda p, epochs: optuna.pruners.HyperbandPruner(
            min_resource=p.min_resource, max_resource=epochs, reduction_factor=p.reduction_factor
        ),
        "successive_halving": lambda p, epochs: optuna.pruners.SuccessiveHalvingPruner(
            min_resource=p.min_resource, reduction_factor=p.reduction_factor
        ),
        "threshold": lambda p, epochs: optuna.pruners.ThresholdPruner(
            lower=p.lower, n_warmup_steps=p.n_warmup_steps
        ),
        # Steps are the trial's members (tune `repeats`), not epochs: src/tuning/repeats.py.
        "wilcoxon": lambda p, epochs: optuna.pruners.WilcoxonPruner(
            p_threshold=p.p_threshold, n_startup_steps=p.n_startup_steps
        ),
        "none": lambda p, epochs: optuna.pruners.NopPruner(),
    },
)


def make_sampler(cfg: TuneConfig, seed: int | None) -> optuna.samplers.BaseSampler:
    if cfg.constraints and cfg.sampler.name == "cmaes":  # said once by sampler_notes instead
        warnings.filterwarnings("ignore", "Constraints have been set, but CmaEsSampler")
    return SAMPLERS[cfg.sampler.name](cfg, seed)


def sampler_notes(cfg: TuneConfig) -> list[str]:
    """What the chosen sampler will not do with this study, said once before it starts."""
    name = cfg.sampler.name
    notes = []
    categorical = [key for key, spec in cfg.search_space.items() if spec.choices is not None]
    if name == "cmaes" and categorical:
        notes.append(
            "note: sampler cmaes handles numbers only; these keys are sampled at random: "
            + ", ".join(categorical)
        )
    if cfg.constraints and name in CONSTRAINT_BLIND_SAMPLERS:
        notes.append(
            f"note: sampler {name} does not steer by constraints (tpe, gp and nsga2 do);"
            " infeasible trials are still marked and never chosen as best"
        )
    return notes


def make_pruner(cfg: TuneConfig) -> optuna.pruners.BasePruner:
    """The configured pruner; none in a multi-objective study (Optuna prunes single ones only)."""
    name = "none" if cfg.multi_objective else cfg.pruner.name
    return PRUNERS[name](cfg.pruner, cfg.train.trainer.max_epochs)
