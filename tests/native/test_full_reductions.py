"""`x.sum()` / `x.mean()` of a tensor whose rank the script compiler does not know (no example
inputs) reduce all dims (`dim=None` in the graph): the file runs in the Python and C runtimes at
any rank, with and without keepdim."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import eager
import export
import jitscript
from eager import nn
from export import native

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="building libesm needs cmake")


class FullReductions(nn.Module):
    def forward(self, x):
        return x * x.sum() + x.mean(), x.sum(None, True), x.mean(keepdim=True)


@pytest.fixture(scope="module")
def esm_file(tmp_path_factory):
    scripted = jitscript.script(FullReductions())
    assert {n.attrs.get("dim", 0) for n in scripted.graph.nodes() if n.op in ("sum", "mean")} == {None}
    path = tmp_path_factory.mktemp("reductions") / "full.esm"
    export.save(jitscript.optimize(scripted), path)
    return path


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4, 5)], ids=["rank2", "rank4"])
def test_full_reductions_of_an_unknown_rank_run_in_python_and_c(esm_file, shape):
    x = eager.randn(*shape)
    want = [o.numpy() for o in FullReductions()(x)]
    python_out = [o.detach().numpy() for o in export.load(esm_file)(x)]
    c_out = native.load(esm_file).run(x.numpy())
    for got in (python_out, c_out):
        assert [g.shape for g in got] == [w.shape for w in want] == [shape, (1,) * len(shape), (1,) * len(shape)]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
