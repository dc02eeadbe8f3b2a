"""One training run: config -> DataModule, LightningModule, callbacks and Trainer (one build
path), checkpoints and resume, the run's lifecycle and lock, the progress shown and the summary."""
