"""Behaviour of the NN functionals beyond the op table: randomness, buffers, dtypes, ties."""
from __future__ import annotations

import numpy as np
import pytest

import eager
import eager.nn.functional as F


def test_dropout_zeroes_about_p_and_keeps_the_mean():
    eager.manual_seed(0)
    out = F.dropout(eager.ones(200, 200), 0.3).numpy()
    assert abs((out == 0).mean() - 0.3) < 0.01
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.7)}
    assert abs(out.mean() - 1.0) < 0.02


def test_dropout_is_reproducible_with_manual_seed():
    x = eager.ones(5, 5)
    eager.manual_seed(3)
    first = F.dropout(x).numpy()
    eager.manual_seed(3)
    assert np.array_equal(first, F.dropout(x).numpy())


def test_dropout_gradient_is_the_mask():
    x = eager.ones(4, 4, requires_grad=True)
    eager.manual_seed(1)
    out = F.dropout(x, 0.5)
    out.sum().backward()
    assert np.array_equal(x.grad.numpy(), out.detach().numpy())


def test_dropout_is_identity_outside_training_and_all_zero_at_p_one():
    x = eager.randn(3)
    assert F.dropout(x, 0.9, training=False) is x
    assert not F.dropout(x, 1.0).numpy().any()


def test_batch_norm_eval_uses_running_stats_and_leaves_them():
    mean, var = eager.tensor([1.0, -1.0]), eager.tensor([4.0, 0.25])
    x = eager.tensor([[3.0, 0.0], [1.0, -1.5]])
    out = F.batch_norm(x, mean, var, eps=0.0).numpy()
    np.testing.assert_allclose(out, [[1.0, 2.0], [0.0, -1.0]])
    assert mean.tolist() == [1.0, -1.0] and var.tolist() == [4.0, 0.25]


def test_batch_norm_training_bumps_the_buffer_versions():
    mean, var = eager.zeros(3), eager.ones(3)
    before = mean._version[0]
    F.batch_norm(eager.randn(4, 3), mean, var, training=True)
    assert mean._version[0] == before + 1 and var._version[0] > 0


def test_max_pool2d_ties_pick_the_first_position_like_pytorch():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    _, ours = F.max_pool2d(eager.tensor(x), 2, return_indices=True)
    _, theirs = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert ours.tolist() == theirs.tolist() == [[[[0, 2], [8, 10]]]]


def test_max_pool2d_indices_need_no_gradient():
    values, indices = F.max_pool2d(eager.randn(1, 1, 4, 4, requires_grad=True), 2, return_indices=True)
    assert values.requires_grad and not indices.requires_grad and indices.dtype is eager.int64


@pytest.mark.parametrize("fn", [
    lambda x: F.conv2d(x, eager.randn(2, 3, 3, 3), eager.randn(2), padding=1),
    lambda x: F.conv_transpose2d(x, eager.randn(3, 2, 3, 3), stride=2),
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.adaptive_avg_pool2d(x, (3, 5)),
    lambda x: F.batch_norm(x, None, None, eager.ones(3), eager.zeros(3), training=True),
    lambda x: F.layer_norm(x, (4, 4)),
    lambda x: F.group_norm(x, 3),
    lambda x: F.softmax(x, 1),
    lambda x: F.log_softmax(x, 1),
    lambda x: F.cross_entropy(x.flatten(1), eager.tensor([1, 0]), label_smoothing=0.1),
    lambda x: F.binary_cross_entropy_with_logits(x, eager.ones(2, 3, 4, 4), pos_weight=eager.ones(4) * 2),
    lambda x: F.scaled_dot_product_attention(x, x, x, is_causal=True),
    lambda x: F.dropout(x, 0.2),
])
def test_float32_stays_float32_forward_and_backward(fn):
    x = eager.randn(2, 3, 4, 4, requires_grad=True)
    out = fn(x)
    assert out.dtype is eager.float32
    out.sum().backward()
    assert x.grad.dtype is eager.float32


def test_embedding_padding_row_gets_no_gradient():
    weight = eager.randn(4, 2, requires_grad=True)
    F.embedding(eager.tensor([[0, 1], [1, 3]]), weight, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy(), [[1, 1], [0, 0], [0, 0], [1, 1]])


def test_cross_entropy_all_targets_ignored_is_nan_like_pytorch():
    loss = F.cross_entropy(eager.randn(2, 3), eager.tensor([-100, -100]))
    assert np.isnan(loss.item())
