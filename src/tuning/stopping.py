"""When a single-objective study is done before n_trials (`stop:`): a feasible trial reached the
target, or `patience` finished trials in a row brought no better best value.

The reason is computed from the trials in the shared storage alone, so every worker (here or on
another machine) reaches the same verdict between its trials, and the study's parent process
prints and tags the same sentence afterwards. Optuna's own `study.stop()` would stop only the
worker that calls it, and MaxTrialsCallback counts trials, not results.
"""

from __future__ import annotations

from src.config.tune import TuneConfig
from src.tuning.constraints import is_feasible


def stop_reason(study, cfg: TuneConfig) -> str | None:
    """ "trial 12 reached val_acc 0.9861 >= target 0.985", or None while the study goes on."""
    from optuna.trial import TrialState

    stop = cfg.stop
    if not stop.enabled:
        return None
    name = cfg.objectives[0]
    maximize = cfg.directions[0] == "maximize"
    finished = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if t.datetime_complete is not None
    ]
    finished.sort(key=lambda t: (t.datetime_complete, t.number))  # the order they ended in
    best, best_number, without = None, None, 0
    for trial in finished:
        value = trial.value if trial.state == TrialState.COMPLETE and is_feasible(trial) else None
        reached = value is not None and stop.target is not None
        if reached and (value >= stop.target if maximize else value <= stop.target):
            sign = ">=" if maximize else "<="
            return f"trial {trial.number} reached {name} {value:.4f} {sign} target {stop.target}"
        if value is not None and (best is None or (value > best if maximize else value < best)):
            best, best_number, without = value, trial.number, 0
            continue
        without += 1
        if stop.patience is not None and without >= stop.patience:
            if best is None:
                return f"{without} finished trials, none complete and feasible (patience {without})"
            return (
                f"{without} finished trials since trial {best_number}'s {name} {best:.4f} "
                f"brought no improvement (patience {stop.patience})"
            )
    return None
