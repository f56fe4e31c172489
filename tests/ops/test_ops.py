"""Every registry op: forward vs NumPy, VJP vs finite differences, 2nd order, vs PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager.autograd import gradcheck, gradgradcheck
from eager.ops import REGISTRY

from .cases import CASES

IDS = [f"{c.op}-{c.id}" if c.id else c.op for c in CASES]


def _tensors(case, rng, requires_grad: bool):
    arrays = case.inputs(rng)
    wanted = case.grad_inputs
    out = []
    for i, a in enumerate(arrays):
        t = eager.tensor(a)
        if a.dtype == np.float64:
            t = eager.tensor(a, dtype=eager.float64)
        if requires_grad and t.dtype.is_floating_point and (wanted is None or i in wanted):
            t.requires_grad_(True)
        out.append(t)
    return arrays, out


def _values(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o.detach().numpy() if hasattr(o, "detach") else np.asarray(o) for o in outs]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_matches_numpy_reference(case):
    if case.ref is None:
        pytest.skip("checked against PyTorch only")
    arrays, tensors = _tensors(case, np.random.default_rng(0), False)
    got = _values(case.fn(eager, *tensors))
    want = case.ref(*arrays)
    want = want if isinstance(want, (tuple, list)) else [want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[i for c, i in zip(CASES, IDS) if c.grad])
def test_vjp_matches_finite_differences(case):
    _, tensors = _tensors(case, np.random.default_rng(1), True)
    assert gradcheck(lambda *xs: case.fn(eager, *xs), tensors, **case.extra)


@pytest.mark.parametrize("case", [c for c in CASES if c.gradgrad],
                         ids=[i for c, i in zip(CASES, IDS) if c.gradgrad])
def test_second_order_matches_finite_differences(case):
    _, tensors = _tensors(case, np.random.default_rng(2), True)
    assert gradgradcheck(lambda *xs: case.fn(eager, *xs), tensors)


@pytest.mark.parametrize("case", [c for c in CASES if c.torch], ids=[i for c, i in zip(CASES, IDS) if c.torch])
def test_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    arrays, tensors = _tensors(case, np.random.default_rng(3), case.grad)
    t_inputs = [torch.tensor(a, requires_grad=bool(t.requires_grad)) for a, t in zip(arrays, tensors)]
    ours = case.fn(eager, *tensors)
    theirs = case.fn(torch, *t_inputs)
    ours_l = ours if isinstance(ours, (tuple, list)) else [ours]
    theirs_l = theirs if isinstance(theirs, (tuple, list)) else [theirs]
    for o, t in zip(ours_l, theirs_l):
        assert tuple(o.shape) == tuple(t.shape)
        assert o.dtype.name == str(t.dtype).replace("torch.", "")
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-6)
    if not case.grad:
        return
    rng = np.random.default_rng(4)
    seeds = [rng.standard_normal(o.shape) for o in ours_l if o.requires_grad]
    if not seeds:
        return
    eager.autograd.backward([o for o in ours_l if o.requires_grad],
                            [eager.tensor(s, dtype=o.dtype) for s, o in zip(seeds, ours_l)])
    torch.autograd.backward([t for t in theirs_l if t.requires_grad],
                            [torch.tensor(s, dtype=t.dtype) for s, t in zip(seeds, theirs_l)])
    for ours_in, theirs_in in zip(tensors, t_inputs):
        if ours_in.requires_grad:
            np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_every_op_has_a_case():
    covered = {c.op for c in CASES}
    missing = sorted(set(REGISTRY) - covered)
    assert not missing, f"ops without a row in tests/ops/cases.py: {missing}"


def test_every_differentiable_op_has_a_gradient_case():
    graded = {c.op for c in CASES if c.grad}
    missing = sorted(name for name, op in REGISTRY.items() if op.vjp is not None and name not in graded)
    assert not missing, f"differentiable ops without a gradient check: {missing}"
