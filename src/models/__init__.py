"""The network and how it learns: the MLP, losses, metrics, the LightningModule, optimizers and
learning-rate schedules. Nothing here reads a config file; src/training/build.py wires it."""
