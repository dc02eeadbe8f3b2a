"""A trained model in use: loaded from MLflow or a checkpoint, evaluated on the test set, asked
about images and arrays."""
