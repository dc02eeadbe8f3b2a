"""Groups of training runs: the same config over several seeds and/or cross-validation folds,
logged as one MLflow parent run (aggregated metrics with t intervals) and nested member runs."""
