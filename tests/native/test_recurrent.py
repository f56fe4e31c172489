"""nn.LSTM and nn.GRU exported as one fused node per layer-direction (eager/ops/recurrent.py)
and run by libesm's recurrent kernels (kernels/recurrent.c): equal to eager and to the IR
interpreter, at 1 and 3 threads (the kernel splits a large batch over threads), with initial
states, every layer's outputs and the final states returned."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

import eager
import export
import jitscript
from export import native

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="building libesm needs cmake")


class _Stacked(eager.nn.Module):
    """A 2-layer bidirectional recurrent layer from given initial states, returning everything."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.rnn = getattr(eager.nn, kind)(5, 24, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x, h0, c0):
        if self.kind == "LSTM":
            out, (h, c) = self.rnn(x, (h0, c0))
            return out, h, c
        out, h = self.rnn(x, h0)
        return out, h


def _inputs(batch: int):
    return eager.randn(batch, 7, 5), eager.randn(4, batch, 24), eager.randn(4, batch, 24)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("batch", [1, 2, 40])  # 40: T * B * H = 6720 cells, split over the threads
def test_recurrent_layers_are_one_node_each_and_agree_in_c(kind, batch, tmp_path):
    eager.manual_seed(0)
    model = _Stacked(kind).eval()
    inputs = _inputs(batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = jitscript.optimize(jitscript.trace(model, inputs))  # h0's dim 0 is not the batch
    assert sum(n.op == kind.lower() for n in sm.graph.block.nodes) == 4  # 2 layers x 2 directions
    export.save(sm, tmp_path / "rnn.esm")
    with eager.no_grad():
        want = [o.numpy() for o in model(*inputs)]
        runs = [[o.numpy() for o in sm(*inputs)]]
        for threads in (1, 3):
            runs.append(native.load(tmp_path / "rnn.esm", threads=threads).run(*[t.numpy() for t in inputs]))
    for got in runs:
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
