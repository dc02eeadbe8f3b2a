"""`stop:` in a study: the verdict from the trials in the storage (hand-built in-memory studies),
then a real tiny study that ends at its target, says why, and tags its parent run."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from src.config.constraints import Bound
from src.config.parsing import parse_tune_config
from src.config.search_space import ParamRange
from src.config.stopping import StopConfig
from src.config.tune import TuneConfig
from src.errors import ConfigError
from src.tune import main
from src.tuning.stopping import stop_reason
from tests.helpers import load_study, runs_of


def study_config(**stop) -> TuneConfig:
    return TuneConfig(
        search_space={"model.dropout": ParamRange(low=0.0, high=0.5)},
        stop=StopConfig(**stop),
        constraints={"params": Bound(max=100)},
    )


def study_of(*trials: tuple[float | None, float]) -> optuna.Study:
    """Trials in the order they ended: (val_acc or None for pruned, params.max violation)."""
    study = optuna.create_study(direction="maximize")
    for value, over in trials:
        study.add_trial(
            optuna.trial.create_trial(
                state=TrialState.PRUNED if value is None else TrialState.COMPLETE,
                value=value,
                params={"model.dropout": 0.1},
                distributions={"model.dropout": FloatDistribution(0.0, 0.5)},
                system_attrs={"constraints:params.max": over},
            )
        )
    return study


def test_no_stop_setting_never_stops() -> None:
    assert stop_reason(study_of((0.99, -1)), study_config()) is None


def test_the_first_feasible_trial_at_the_target_stops_the_study() -> None:
    study = study_of((0.97, -1), (0.99, 5), (0.986, -1))  # trial 1 is infeasible
    reason = stop_reason(study, study_config(target=0.985))
    assert reason == "trial 2 reached val_acc 0.9860 >= target 0.985"


def test_below_the_target_the_study_goes_on() -> None:
    assert stop_reason(study_of((0.97, -1), (0.98, -1)), study_config(target=0.985)) is None


def test_patience_counts_finished_trials_since_the_last_improvement() -> None:
    # trial 1 improves; 2 (pruned), 3 (worse) and 4 (better but infeasible) do not
    study = study_of((0.90, -1), (0.95, -1), (None, 0), (0.93, -1), (0.99, 1))
    assert stop_reason(study, study_config(patience=4)) is None
    reason = stop_reason(study, study_config(patience=3))
    assert reason == (
        "3 finished trials since trial 1's val_acc 0.9500 brought no improvement (patience 3)"
    )


def test_stop_with_several_objectives_is_refused_naming_both_keys() -> None:
    with pytest.raises(ConfigError, match=r"stop works with one objective.*objectives has 2"):
        parse_tune_config(["--objectives", "[val_acc, param_count]", "--stop.target", "0.9"])


def test_a_study_ends_at_its_target_says_why_and_tags_the_parent_run(
    new_study, mlflow_store, capsys
) -> None:
    path = new_study(
        "stopped",
        search_space={"optimizer.lr": {"low": 1.0e-2, "high": 2.0e-2}},
        n_trials=4,
        stop={"target": 0.2},  # the synthetic digits pass 20% in one epoch
    )
    assert main(["--config", str(path), "--train.trainer.max_epochs", "1"]) == 0
    (trial,) = load_study(path).trials
    out = capsys.readouterr().out
    reason = f"trial 0 reached val_acc {trial.value:.4f} >= target 0.2"
    assert f"stopped: {reason}" in out
    (parent,) = runs_of(mlflow_store, "stopped", "study")
    assert parent.data.tags["stop_reason"] == reason


@pytest.mark.slow
def test_parallel_workers_each_stop_on_the_shared_storage(new_study, mlflow_store) -> None:
    path = new_study(
        "stopped-parallel",
        search_space={"optimizer.lr": {"low": 1.0e-2, "high": 2.0e-2}},
        n_trials=8,
        n_jobs=2,
        stop={"target": 0.2},
    )
    assert main(["--config", str(path), "--train.trainer.max_epochs", "1"]) == 0
    trials = load_study(path).trials
    # each worker finishes the trial it had under way when the other reached the target
    assert 1 <= len(trials) <= 2
    assert {t.state for t in trials} == {TrialState.COMPLETE}
