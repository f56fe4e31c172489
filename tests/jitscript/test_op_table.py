"""Every row of the op table goes through the IR: trace it, verify, print and parse the graph,
and run the parsed graph with the interpreter to the same result as eager mode (and the
optimized graph to the same within rounding)."""
import warnings

import numpy as np
import pytest

import eager
import jitscript
from tests.ops.cases import CASES
from tests.ops.test_ops import IDS

# rows of backward-only ops build their input with autograd, which tracing (under no_grad) does not run
TRACEABLE = [(c, i) for c, i in zip(CASES, IDS) if c.op not in ("conv2d_weight", "embedding_backward")]


def _tensors(case):
    arrays = case.inputs(np.random.default_rng(5))
    return [eager.tensor(a, dtype=eager.float64) if a.dtype == np.float64 else eager.tensor(a) for a in arrays]


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out]


@pytest.mark.parametrize("case", [c for c, _ in TRACEABLE], ids=[i for _, i in TRACEABLE])
def test_op_runs_through_trace_text_and_interpreter(case):
    tensors = _tensors(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jitscript.TracerWarning)
        sm = jitscript.trace(lambda *ts: case.fn(eager, *ts), tuple(tensors))
    jitscript.verify(sm.graph)
    text = str(sm.graph)
    parsed = jitscript.parse(text, sm.graph.params)
    assert str(parsed) == text
    want = _flat(case.fn(eager, *tensors))
    got = _flat(jitscript.ScriptModule(jitscript.verify(parsed))(*tensors))
    optimized = _flat(jitscript.optimize(sm)(*tensors))
    for w, g, o in zip(want, got, optimized):
        if isinstance(w, eager.Tensor):
            np.testing.assert_array_equal(g.detach().numpy(), w.detach().numpy())
            np.testing.assert_allclose(o.detach().numpy(), w.detach().numpy(), rtol=1e-6, atol=1e-6)
        else:
            assert g == w == o
