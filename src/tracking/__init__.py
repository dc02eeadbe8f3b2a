"""MLflow: the store, runs and their status, the Lightning logger, redaction, what a run
leaves behind (plots, model) and the Model Registry."""
