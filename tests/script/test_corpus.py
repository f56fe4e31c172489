"""Every scriptable program of the corpus: script(m)(inputs) == m(inputs), on fresh random
inputs that between them take every branch; the graph passes the verifier."""
from __future__ import annotations

import numpy as np
import pytest

import eager
import jitscript
from eager import Tensor

from .corpus import CASES


def as_numpy(value):
    if isinstance(value, Tensor):
        return value.detach().numpy()
    if isinstance(value, (tuple, list)):
        return [as_numpy(v) for v in value]
    return value


def assert_same(got, want) -> None:
    got, want = as_numpy(got), as_numpy(want)
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    else:
        assert type(got) is type(want) and got == pytest.approx(want)


def run_or_error(fn, args):
    try:
        return fn(*args), None
    except (RuntimeError, ValueError, AssertionError) as exc:
        return None, exc


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_script_matches_eager(case):
    eager.manual_seed(0)
    model = case.make()
    example = case.inputs[0]() if case.example else None
    scripted = jitscript.script(model, example_inputs=example)
    jitscript.verify(scripted.graph)
    for i, make_inputs in enumerate(case.inputs):
        args = make_inputs()
        want, want_error = run_or_error(model, args)
        got, got_error = run_or_error(scripted, args)
        if i in case.raises:
            assert want_error is not None and got_error is not None
            assert str(want_error).split(":")[0] in str(got_error) or str(want_error) in str(got_error)
        else:
            assert want_error is None and got_error is None, (want_error, got_error)
            assert_same(got, want)


def test_corpus_has_at_least_30_programs():
    assert len(CASES) >= 30


def test_control_flow_is_kept_in_the_graph():
    scripted = jitscript.script(CASES[0].make())
    ops = [n.op for n in scripted.graph.nodes()]
    assert "prim::if" in ops
    loop = jitscript.script(next(c for c in CASES if c.name == "while_halving").make())
    assert "prim::loop" in [n.op for n in loop.graph.nodes()]


def test_graph_text_round_trips():
    scripted = jitscript.script(next(c for c in CASES if c.name == "nested_return_paths").make())
    text = scripted.code
    assert str(jitscript.parse(text)) == text
