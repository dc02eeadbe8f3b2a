"""What is logged never holds a secret: URL passwords and the values of secret environment
variables are masked in params, tags, run names and artifacts."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

# Environment variables whose values never go into params, tags or artifacts.
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
MIN_SECRET_CHARS = 6  # shorter values ("1", "true") would blank out ordinary params
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:@/\s]*):([^@/\s]+)@")


def redact(text: str) -> str:
    """Text safe to log: URL passwords and the values of secret environment variables masked.

    Secret variables are those whose names contain KEY, TOKEN, SECRET, PASSWORD, PASSWD or
    CREDENTIAL; their values (6 characters or more) are replaced by *** wherever they appear.
    """
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    secrets = {
        value
        for name, value in os.environ.items()
        if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_CHARS
    }
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def redact_config(config: Any) -> Any:
    """A config dict (or list, or value) with every string passed through `redact`."""
    if isinstance(config, Mapping):
        return {key: redact_config(value) for key, value in config.items()}
    if isinstance(config, list | tuple):
        return [redact_config(value) for value in config]
    return redact(config) if isinstance(config, str) else config
