"""`python -m src.config_docs > docs/config.md`: the configuration reference, generated from the
training schema; `python -m src.config_docs --check` exits 1 when docs/config.md is out of date.
"""

from __future__ import annotations

import sys

from src.config.docs import DOCS_PATH, render
from src.runtime.main import run_main


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOCS_PATH.is_file() or DOCS_PATH.read_text() != text:
            print(f"{DOCS_PATH} is out of date: run python -m src.config_docs > docs/config.md")
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    run_main(main)
