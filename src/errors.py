"""The errors every layer may raise, and how a message becomes one line for the user.

Bad input ends with one line on stderr that names the key or file and what is allowed: exit code
2 for UsageError and ConfigError (src/runtime/main.py), 1 for the errors in EXPECTED_ERRORS.
"""

from __future__ import annotations

import re

USAGE_ERROR = 2
# Errors whose message is already written for users: printed without their class name. Matched by
# name so that catching them imports neither torch nor mlflow.
EXPECTED_ERRORS = {
    "DataSourceError",
    "DataNotFoundError",
    "TrackingError",
    "CheckpointDirError",
    "FileNotFoundError",
    "PermissionError",
    "MlflowException",
    "StudyFailed",
}


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


class ConfigError(ValueError):
    """A config value outside what is allowed; the message names the key. Exit code 2."""


def one_line(message: str) -> str:
    """jsonargparse's multi-line messages folded into one line, without the type repr noise."""
    text = " ".join(part.strip() for part in message.splitlines() if part.strip())
    text = text.replace('Parser key "', '"')
    text = re.sub(r"Expected a typing\.Literal\[([^\]]*)\]", r"expected one of [\1]", text)
    text = text.replace("Expected a one of[", "expected one of [")
    union = re.search(
        r"Does not validate against any of the Union subtypes Subtypes: \[(.*?)\]", text
    )
    if union:
        subtypes = re.findall(r"<class '(\w+)'>|(\w+\[[^\]]*\])", union.group(1))
        names = [a or b for a, b in subtypes]
        given = re.search(r"Given value: (.*)$", text)
        expected = " or ".join("null" if n == "NoneType" else n for n in names)
        text = text[: union.start()] + f"expected {expected}"
        text += f". Got value: {given.group(1)}" if given else ""
    text = re.sub(r"Expected a <class '(\w+)'>", r"expected \1", text)
    return re.sub(r"\s+", " ", text).strip()
