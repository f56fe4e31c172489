"""PyTorch spellings of creation and tensor methods that tutorials use."""
from __future__ import annotations

import numpy as np
import pytest

import eager


def test_new_factories_follow_the_tensors_dtype():
    x = eager.ones(2, dtype=eager.float64)
    assert x.new_zeros(3).dtype is eager.float64
    assert x.new_ones((2, 2)).shape == (2, 2)
    assert x.new_empty(4).shape == (4,)
    np.testing.assert_array_equal(x.new_full((2,), 3.0).numpy(), [3.0, 3.0])
    assert x.new_tensor([1, 2]).dtype is eager.float64
    assert x.new_zeros(2, dtype=eager.int64).dtype is eager.int64


def test_size_keyword():
    assert eager.zeros(size=(2, 3)).shape == (2, 3)
    assert eager.ones(size=4).shape == (4,)
    assert eager.empty(size=[1, 2]).shape == (1, 2)


def test_as_tensor_shares_memory_with_numpy_and_tensors():
    a = np.ones(3)
    t = eager.as_tensor(a)
    a[0] = 5
    assert t.dtype is eager.float64 and t[0].item() == 5
    assert eager.as_tensor(t) is t
    assert eager.as_tensor([1, 2]).dtype is eager.int64


def test_view_as_reshape_as_type_as():
    x = eager.arange(6)
    y = eager.zeros(2, 3)
    assert x.view_as(y).shape == (2, 3)
    assert x.reshape_as(y).shape == (2, 3)
    assert x.type_as(y).dtype is eager.float32


def test_masked_fill_and_scatter_in_place():
    x = eager.zeros(2, 3)
    x.masked_fill_(eager.tensor([True, False, True]), 1.0)
    np.testing.assert_array_equal(x.numpy(), [[1, 0, 1], [1, 0, 1]])
    x.scatter_(1, eager.tensor([[1], [1]]), 7.0)
    x.scatter_add_(0, eager.tensor([[0, 0, 0]]), eager.ones(1, 3))
    np.testing.assert_array_equal(x.numpy(), [[2, 8, 2], [1, 7, 1]])


def test_max_and_min_forms():
    x = eager.tensor([[1.0, 5.0], [7.0, 2.0]])
    assert x.max().item() == 7.0
    values, indices = eager.max(x, dim=1)
    np.testing.assert_array_equal(values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    result = x.min(0, keepdim=True)
    assert result.values.shape == (1, 2) and result.indices.tolist() == [[0, 1]]
    np.testing.assert_array_equal(eager.max(x, eager.tensor([3.0, 3.0])).numpy(), [[3, 5], [7, 3]])


def test_var_std_arguments():
    x = eager.tensor([[1.0, 2.0, 3.0, 4.0]])
    assert x.var().item() == pytest.approx(5 / 3)
    assert x.var(unbiased=False).item() == pytest.approx(1.25)
    assert x.var(1, correction=0).tolist() == [pytest.approx(1.25)]
    assert x.std(1, keepdim=True).shape == (1, 1)


def test_logsumexp_does_not_overflow():
    x = eager.tensor([1000.0, 1000.0])
    assert eager.logsumexp(x, 0).item() == pytest.approx(1000 + np.log(2))
    assert eager.logsumexp(eager.tensor([-np.inf, -np.inf]), 0).item() == -np.inf


def test_split_chunk_and_stack_round_trip():
    x = eager.arange(10).reshape(5, 2)
    parts = x.split(2)
    assert [p.shape[0] for p in parts] == [2, 2, 1]
    assert [c.shape[0] for c in x.chunk(3)] == [2, 2, 1]
    np.testing.assert_array_equal(eager.cat(parts).numpy(), x.numpy())
    rows = x.unbind(0)
    assert len(rows) == 5 and rows[1].tolist() == [2, 3]
    np.testing.assert_array_equal(eager.stack(rows, 1).numpy(), x.numpy().T)


def test_cat_promotes_dtypes():
    out = eager.cat([eager.ones(1, dtype=eager.int64), eager.ones(1, dtype=eager.float32)])
    assert out.dtype is eager.float32


def test_squeeze_unsqueeze_round_trip():
    x = eager.zeros(2, 1, 3)
    assert x.squeeze().shape == (2, 3)
    assert x.squeeze(1).unsqueeze(-1).shape == (2, 3, 1)
    assert x.squeeze((0, 1)).shape == (2, 3)


def test_sort_and_topk_return_named_tuples_like_pytorch():
    x = eager.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    values, indices = x.sort(1, descending=True)
    assert values.tolist() == [[3, 2, 1], [5, 4, 0]] and indices.tolist() == [[0, 2, 1], [1, 2, 0]]
    top = eager.topk(x, 1)
    assert top.values.tolist() == [[3], [5]] and top.indices.tolist() == [[0], [1]]


def test_sort_is_stable_for_ties():
    x = eager.tensor([1.0, 0.0, 1.0, 0.0])
    assert x.argsort().tolist() == [1, 3, 0, 2]
    assert x.argsort(descending=True).tolist() == [0, 2, 1, 3]


def test_causal_mask_with_triu_and_masked_fill():
    scores = eager.zeros(3, 3)
    mask = eager.triu(eager.ones(3, 3, dtype=eager.bool), diagonal=1)
    masked = scores.masked_fill(mask, float("-inf"))
    assert (masked < -1e30).tolist() == mask.tolist()


def test_allclose_and_equal():
    a = eager.tensor([1.0, 2.0])
    assert eager.allclose(a, a + 1e-9)
    assert not eager.allclose(a, a + 1e-3)
    assert eager.equal(a, eager.tensor([1.0, 2.0]))
    assert not eager.equal(a, eager.tensor([1.0, 2.0, 3.0]))
    assert (a > 0).all() and not (a > 1).all() and (a > 1).any()
