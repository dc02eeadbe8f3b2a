"""The names a config may choose from, listed once.

The registries that map them to code (models/mlp.py ACTIVATIONS, models/losses.py LOSSES,
models/optim.py OPTIMIZERS and SCHEDULERS) are built from these lists and refuse to disagree.
"""

from __future__ import annotations

from typing import Literal, get_args

Activation = Literal["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "identity"]
Loss = Literal["cross_entropy", "nll", "mse", "bce", "hinge"]
OptimizerName = Literal["sgd", "adam", "adamw", "rmsprop"]
SchedulerName = Literal["none", "cosine", "step", "onecycle", "plateau"]
ValSplit = Literal["random", "last"]
DatasetName = Literal["mnist", "fashion_mnist"]
Precision = Literal[
    "32", "32-true", "64", "64-true", "16-mixed", "bf16-mixed", "bf16-true", "16-true"
]
# What early stopping can watch (validation metrics, logged before it checks) and their modes.
EARLY_STOPPING_MODES = {"val/acc": "max", "val/f1": "max", "val/acc_best": "max", "val/loss": "min"}

# Tuning studies (src/config/tune.py; the samplers and pruners in src/tuning/samplers.py).
SamplerName = Literal["tpe", "random", "grid", "nsga2", "gp", "cmaes"]
# CMA-ES evolves one multivariate normal over a single objective: Optuna's CmaEsSampler raises in
# a multi-objective study, so the config refuses the pair before any trial runs.
SINGLE_OBJECTIVE_SAMPLERS = ("cmaes",)
# Samplers that ignore constraint values (Optuna 5 reads them from each trial's set_constraint;
# CmaEsSampler warns and optimizes as if unconstrained; random and grid never look at results).
CONSTRAINT_BLIND_SAMPLERS = ("cmaes", "random", "grid")
# What a study may bound (`constraints: {params: {max: 300000}}`): the trial's parameter count
# and its inference latency (src/tuning/monitor.py measures both).
ConstraintName = Literal["params", "latency_ms"]
PrunerName = Literal["median", "hyperband", "successive_halving", "threshold", "wilcoxon", "none"]
# Pruners that judge a trial by its members' values (tune `repeats`); every other pruner but
# "none" reads per-epoch val/acc and is refused with repeats.
MEMBER_PRUNERS = ("wilcoxon",)
Objective = Literal["val_acc", "param_count", "latency_ms"]
OBJECTIVE_DIRECTIONS: dict[str, Literal["maximize", "minimize"]] = {
    "val_acc": "maximize",
    "param_count": "minimize",
    "latency_ms": "minimize",
}


def names_of(literal: object) -> tuple[str, ...]:
    """The choices of one of the Literals above, in order."""
    return get_args(literal)


def by_name(literal: object, table: dict) -> dict:
    """`table` (name -> implementation) if its keys are exactly the Literal's choices, else
    TypeError at import: a name added to one list and not the other cannot ship."""
    names = names_of(literal)
    if set(table) != set(names) or len(table) != len(names):
        missing = sorted(set(names) - set(table))
        extra = sorted(set(table) - set(names))
        raise TypeError(f"registry and config names disagree: missing {missing}, extra {extra}")
    return table
