"""Gradient clipping vs PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager import nn
from eager.nn.utils import clip_grad_norm_, clip_grad_value_

torch = pytest.importorskip("torch")


def _pair(scale):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)) * scale, rng.standard_normal(5) * scale]
    ours = [nn.Parameter(eager.zeros(g.shape)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad = eager.tensor(g.astype(np.float32))
        t.grad = torch.tensor(g.astype(np.float32))
    return ours, theirs


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (0.3, float("inf"))])
def test_clip_grad_norm_matches_pytorch(max_norm, norm_type):
    ours, theirs = _pair(3.0)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert float(total) == pytest.approx(float(expected), rel=1e-5)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_can_refuse_non_finite_norms():
    ours, _ = _pair(1.0)
    ours[0].grad = eager.full((3, 4), float("inf"))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_pytorch():
    ours, theirs = _pair(3.0)
    clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_clipping_a_gradient_shared_by_two_leaves_scales_each_once():
    a, b = nn.Parameter(eager.zeros(3)), nn.Parameter(eager.zeros(3))
    (a + b).sum().backward()  # both leaves may receive the same gradient array
    clip_grad_norm_([a, b], 1.0)
    np.testing.assert_allclose(np.concatenate([a.grad.numpy(), b.grad.numpy()]),
                               np.full(6, 1 / np.sqrt(6)), rtol=1e-5)
