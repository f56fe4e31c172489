"""A ~100 MB model exports and loads back without a second copy of its weights in memory."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import export
import jitscript
from jitscript import ScriptModule

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 5000  # a 5000x5000 float32 weight: 100 MB

LARGE = f"""\
graph(%x : Tensor(float32, [N, {WIDTH}])):
  %w : Tensor(float32, [{WIDTH}, {WIDTH}]) = prim::param[name="fc.weight"]()
  %y : Tensor(float32, [N, {WIDTH}]) = linear(%x, %w)
  return (%y)
"""

# Runs in a fresh interpreter so that its anonymous (private, non-file) memory is all ours.
_LOAD_AND_RUN = textwrap.dedent("""
    import mmap, sys
    import numpy as np
    import eager, export

    def rss_anon_mb():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024

    before = rss_anon_mb()
    module = export.load(sys.argv[1])
    weight = module.graph.params["fc.weight"]
    base = weight
    while isinstance(base, np.ndarray):
        base = base.base
    y = module(eager.tensor(np.ones((2, weight.shape[1]), np.float32))).numpy()
    checksum = float(weight[:, 0].sum())
    print(isinstance(base.obj, mmap.mmap), rss_anon_mb() - before, float(y[0, 0]), checksum)
""")


@pytest.mark.slow
def test_100mb_model_loads_zero_copy(tmp_path):
    weight = np.random.default_rng(0).standard_normal((WIDTH, WIDTH), dtype=np.float32)
    path = tmp_path / "large.esm"
    export.save(ScriptModule(jitscript.parse(LARGE, {"fc.weight": weight})), path)
    assert path.stat().st_size > weight.nbytes
    result = subprocess.run([sys.executable, "-c", _LOAD_AND_RUN, str(path)], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    on_mmap, anon_growth_mb, y00, checksum = result.stdout.split()
    assert on_mmap == "True"
    # A second copy would add 100 MB of anonymous memory; imports and the run add far less.
    assert float(anon_growth_mb) < 30, f"anonymous memory grew by {anon_growth_mb} MB"
    assert float(y00) == pytest.approx(float(weight[0].sum()), rel=1e-4)
    assert float(checksum) == pytest.approx(float(weight[:, 0].sum()), rel=1e-5)
