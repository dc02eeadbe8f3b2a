"""Warm start: the study's `enqueue:` entries (src/config/enqueue.py) put in its storage before any
worker starts, each once.

"Once" is Optuna's `enqueue_trial(skip_if_exists=True)`: it skips params that a trial of the
study already holds, in any state (waiting, running, finished), comparing the enqueued (fixed)
params with each trial's. So resuming the study, or running the same command on another machine,
adds nothing twice; the values are typed as the trial stores them (src/config/enqueue.py
`to_param`) so that the comparison can match.
"""

from __future__ import annotations

from src.config.enqueue import EnqueuedTrial


def enqueue_trials(study, trials: list[EnqueuedTrial]) -> int:
    """Enqueue what the study does not hold yet; print what was added, skipped or ignored.
    Returns the number added."""
    added = 0
    for trial in trials:
        if trial.ignored:
            ignored = ", ".join(trial.ignored)
            print(f"note: {trial.source}: not in the search space, ignored: {ignored}")
        if trial.sampled:
            print(
                f"note: {trial.source}: left to the sampler (its default is outside the search"
                f" space): {', '.join(trial.sampled)}"
            )
        before = len(study.get_trials(deepcopy=False))
        study.enqueue_trial(
            trial.params, user_attrs={"enqueued_from": trial.source}, skip_if_exists=True
        )
        added += len(study.get_trials(deepcopy=False)) > before
    if trials:
        skipped = len(trials) - added
        already = f"; {skipped} already in the study" if skipped else ""
        print(f"enqueued {added} of {len(trials)} trials to run first{already}")
    return added
