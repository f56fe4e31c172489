"""The committed FlatBuffers accessors (export/fb/) are what flatc generates from esm.fbs, and
the enums shared with the C runtime keep their numbers."""
from __future__ import annotations

import filecmp
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from export.fb.AttrKind import AttrKind
from export.fb.DType import DType

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("flatc") is None, reason="flatc (Debian flatbuffers-compiler) is not installed")
def test_generated_accessors_match_the_schema(tmp_path):
    subprocess.run(["flatc", "--python", "-o", str(tmp_path), str(ROOT / "export/schema/esm.fbs")], check=True)
    fresh = tmp_path / "export" / "fb"
    committed = ROOT / "export" / "fb"
    names = sorted(p.name for p in fresh.glob("*.py"))
    assert names == sorted(p.name for p in committed.glob("*.py"))
    _, mismatch, errors = filecmp.cmpfiles(fresh, committed, names, shallow=False)
    assert mismatch == [] and errors == [], "regenerate export/fb (see export/schema/README.md)"


def _c_enum(header: str, prefix: str) -> dict[str, int]:
    """NAME -> number of the C enum entries `PREFIX_NAME` (explicit or implicit numbering)."""
    text = (ROOT / "native_runtime" / header).read_text()
    out, nxt = {}, 0
    for name, value in re.findall(rf"\b{prefix}_([A-Z0-9]+)\s*(?:=\s*(\d+))?\s*[,}}\n]", text):
        nxt = int(value) if value else nxt
        out[name] = nxt
        nxt += 1
    return out


def test_dtype_numbers_match_esm_h():
    ours = {k: v for k, v in vars(DType).items() if k.isupper()}
    c_dtypes = {name: value for name, value in _c_enum("include/esm.h", "ESM").items() if name in ours}
    assert c_dtypes == ours


def test_attr_kind_numbers_match_kernel_api_h():
    ours = {k: v for k, v in vars(AttrKind).items() if k.isupper()}
    theirs = _c_enum("src/kernel_api.h", "ESM_ATTR")
    assert {k: v for k, v in ours.items() if k in theirs} == theirs
