#!/usr/bin/env bash
# The README's main job, from a fresh clone: install, train eagerly, export, run in C.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -e ".[examples]"
python3 -c "from export import native; print('built', native.build())"
python3 examples/main.py "$@"
