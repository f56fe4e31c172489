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


def _c_enum(header: str, enum: str, prefix: str) -> dict[str, int]:
    """NAME -> number of the entries `PREFIX_NAME` of `typedef enum <enum> { ... }` in a header."""
    text = re.sub(r"/\*.*?\*/", "", (ROOT / "native_runtime" / header).read_text(), flags=re.S)
    body = re.search(rf"enum\s+{enum}\s*\{{(.*?)\}}", text, flags=re.S).group(1)
    out, nxt = {}, 0
    for entry in filter(None, (e.strip() for e in body.split(","))):
        name, _, value = (part.strip() for part in entry.partition("="))
        nxt = int(value) if value else nxt
        out[name.removeprefix(prefix + "_")] = nxt
        nxt += 1
    return out


def test_dtype_numbers_match_esm_h():
    ours = {k: v for k, v in vars(DType).items() if k.isupper()}
    assert _c_enum("include/esm.h", "esm_dtype", "ESM") == ours


def test_attr_kind_numbers_match_kernel_api_h():
    ours = {k: v for k, v in vars(AttrKind).items() if k.isupper()}
    theirs = _c_enum("src/kernel_api.h", "esm_attr_kind", "ESM_ATTR")
    assert {k: v for k, v in ours.items() if k in theirs} == theirs
