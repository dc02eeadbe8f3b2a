"""The configuration: the training and tuning schemas (dataclasses whose type hints are the one
source of truth), the names they may choose from, and their parsing. Imports no torch."""
