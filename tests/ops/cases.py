"""The op test table, gathered from every `cases_*.py` module beside this one.

Each module defines `CASES: list[Case]`; a family of ops (core, tensor, nn) keeps its rows in
its own module so that adding an op touches one file. See `case.py` for what a row checks.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

CASES = []
for _info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
    if _info.name.startswith("cases_"):
        CASES.extend(importlib.import_module(f"{__package__}.{_info.name}").CASES)
