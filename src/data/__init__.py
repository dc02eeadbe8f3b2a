"""MNIST and Fashion-MNIST: verified sources, a uint8 cache, tensor batches, the DataModule."""
