"""Optuna studies: the search space sampled, the objective, samplers and pruners, workers on
one or many machines, trial bookkeeping, storage, and the results of a study."""
