"""The README's main job end to end: train, export by trace and script, run in the IR
interpreter, the C runtime and the C app, all agreeing with eager."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cmake") is None, reason="the main job builds the C app with cmake")
def test_main_job_exports_agree_with_eager(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "main.py"), "--epochs", "2",
                             "--out-dir", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "exported models agree with eager: yes" in result.stdout
    assert result.stdout.count("C runtime:") == 2 and "C app: accuracy" in result.stdout
