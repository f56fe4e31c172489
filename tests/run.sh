#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install what is missing, build the C runtime,
# lint, and run pytest. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e ".[test,examples]"
python3 -m ruff check .
python3 -m pytest -n 2 "$@"
