"""gp and cmaes beside tpe/random/grid/nsga2: each proposes from the study's own search space,
and the config refuses the combinations Optuna cannot run, naming both keys."""

from __future__ import annotations

import optuna
import pytest

from src.config.constraints import Bound
from src.config.parsing import parse_tune_config
from src.config.search_space import ParamRange
from src.config.tune import SamplerConfig, TuneConfig
from src.errors import ConfigError
from src.tuning.samplers import make_sampler, sampler_notes
from src.tuning.search import sample

SPACE = {
    "model.dropout": ParamRange(low=0.0, high=0.5),
    "optimizer.lr": ParamRange(low=1e-4, high=1e-1, log=True),
}


def study_config(name: str, objectives=("val_acc",), **extra) -> TuneConfig:
    return TuneConfig(
        search_space=dict(SPACE),
        sampler=SamplerConfig(name=name, n_startup_trials=3),
        objectives=list(objectives),
        **extra,
    )


def quadratic(cfg: TuneConfig):
    """A smooth stand-in for val_acc with its peak at dropout 0.2, lr 0.01."""
    import math

    def objective(trial) -> float:
        values = sample(trial, cfg.search_space)
        return (
            -((values["model.dropout"] - 0.2) ** 2) - (math.log10(values["optimizer.lr"]) + 2) ** 2
        )

    return objective


@pytest.mark.parametrize("name", ["gp", "cmaes"])
def test_a_model_based_sampler_proposes_inside_the_search_space_after_its_startup(name) -> None:
    cfg = study_config(name)
    study = optuna.create_study(direction="maximize", sampler=make_sampler(cfg, seed=0))
    study.optimize(quadratic(cfg), n_trials=5)
    assert len(study.trials) == 5
    for trial in study.trials:
        assert 0.0 <= trial.params["model.dropout"] <= 0.5
        assert 1e-4 <= trial.params["optimizer.lr"] <= 1e-1


@pytest.mark.parametrize("name", ["gp", "cmaes"])
def test_the_same_seed_gives_the_same_proposals(name) -> None:
    cfg = study_config(name)
    runs = []
    for _ in range(2):
        study = optuna.create_study(direction="maximize", sampler=make_sampler(cfg, seed=5))
        study.optimize(quadratic(cfg), n_trials=5)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]


@pytest.mark.parametrize("name", ["tpe", "gp", "nsga2"])
def test_multi_objective_studies_accept_tpe_and_gp_beside_nsga2(name) -> None:
    cfg = study_config(name, objectives=("val_acc", "param_count"))
    study = optuna.create_study(directions=cfg.directions, sampler=make_sampler(cfg, seed=0))
    study.optimize(lambda t: (quadratic(cfg)(t), t.params["model.dropout"]), n_trials=4)
    assert len(study.best_trials) >= 1


def test_cmaes_with_several_objectives_is_refused_naming_both_keys() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_tune_config(["--sampler.name", "cmaes", "--objectives", "[val_acc, param_count]"])
    message = str(refused.value)
    assert "sampler.name='cmaes'" in message and "objectives" in message
    assert "use tpe, gp or nsga2" in message


def test_cmaes_notes_the_categorical_keys_it_samples_at_random() -> None:
    cfg = parse_tune_config(["--sampler.name", "cmaes"])  # the default study's search space
    (note,) = sampler_notes(cfg)
    assert note.startswith("note: sampler cmaes handles numbers only")
    assert "model.hidden_dims" in note and "optimizer.lr" not in note


@pytest.mark.parametrize(("name", "notes"), [("random", 1), ("tpe", 0), ("gp", 0)])
def test_a_sampler_that_ignores_constraints_says_so(name, notes) -> None:
    cfg = study_config(name, constraints={"params": Bound(max=1000)})
    assert len(sampler_notes(cfg)) == notes
