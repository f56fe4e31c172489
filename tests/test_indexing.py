"""Indexing: keys as PyTorch reads them, the serializable `items` form, assignment, errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

import eager
from eager.ops.indexing import index_shape, normalize_index
from eager.ops.registry import Spec


def _torch():
    return pytest.importorskip("torch")


X = np.arange(24.0).reshape(2, 3, 4)

KEYS = [
    1, -1, (1, 2), (slice(None), 1), (slice(0, 2), slice(None), slice(1, None, 2)), (Ellipsis, 0),
    (None, 1), (1, None, Ellipsis, None), (slice(5, 9),), (slice(-2, None), -1, slice(None, -1)),
    [1, 0], (slice(None), [2, 0, 2]), ([0, 1], [1, 2]), ([0, 1], slice(None), [3, 0]), (Ellipsis, [1, 1]),
    ([1, 0], None, [1, 2]), (1, [[0, 2], [1, 1]]), (0, slice(None), [1, 2]),
]
NUMPY_DISAGREES = {repr((0, slice(None), [1, 2]))}  # NumPy counts the int as an index array


def _key_for(m, key):
    """Lists become index tensors, as a user would write them for either library."""
    if isinstance(key, list):
        return m.tensor(key)
    if isinstance(key, tuple):
        return tuple(_key_for(m, k) for k in key)
    return key


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_getitem_matches_numpy_and_pytorch(key):
    ours = eager.tensor(X)[_key_for(eager, key)]
    if repr(key) not in NUMPY_DISAGREES:
        np.testing.assert_array_equal(ours.numpy(), X[key if not isinstance(key, list) else np.array(key)])
    theirs = _torch().tensor(X)[_key_for(_torch(), key)]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_ints_select_before_index_tensors_as_in_pytorch():
    x = eager.tensor(X)
    out = x[0, :, eager.tensor([1, 2])]
    assert out.shape == (3, 2)  # NumPy would give (2, 3)
    np.testing.assert_array_equal(out.numpy(), X[0][:, [1, 2]])
    x[0, :, eager.tensor([1, 2])] = eager.tensor([-1.0, -2.0], dtype=eager.float64)
    np.testing.assert_array_equal(x.numpy()[0, :, 1:3], [[-1, -2]] * 3)


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_shape_rule_predicts_getitem(key):
    x = eager.tensor(X)
    items, tensors = normalize_index(_key_for(eager, key), x)
    assert index_shape(x.shape, items, tuple(Spec(t.dtype, t.shape) for t in tensors)) == x[_key_for(eager, key)].shape


def test_shape_rule_leaves_mask_counts_unknown():
    x = eager.tensor(X)
    items, tensors = normalize_index((x[:, :, 0] > 3, slice(1, 3)), x)
    assert index_shape(("N", 3, 4), items, (Spec(eager.bool, ("N", 3)),)) == ("?", 2)


def test_boolean_mask_selects_in_row_major_order():
    x = eager.tensor(X)
    np.testing.assert_array_equal(x[x > 20].numpy(), [21.0, 22.0, 23.0])
    np.testing.assert_array_equal(x[eager.tensor([True, False])].numpy(), X[[True, False]])


def test_basic_index_is_a_view_and_advanced_is_a_copy():
    x = eager.zeros(2, 3)
    x[0][1:].fill_(5)
    x[[1]].fill_(9)  # a copy: x is unchanged
    np.testing.assert_array_equal(x.numpy(), [[0, 5, 5], [0, 0, 0]])


def test_items_are_plain_serializable_data():
    x = eager.zeros(2, 3, 4)
    items, tensors = normalize_index((None, 1, ..., slice(None, None, 2)), x)
    assert items == (("newaxis",), ("select", 1), ("slice", None, None, None), ("slice", None, None, 2))
    assert tensors == ()
    assert json.loads(json.dumps(items)) == [list(i) for i in items]


def test_items_drop_trailing_full_slices_and_mark_tensors():
    x = eager.zeros(2, 3, 4)
    items, tensors = normalize_index((eager.tensor([1, 0]), ...), x)
    assert items == (("tensor",),)
    assert len(tensors) == 1


def test_negative_step_is_rejected_like_pytorch():
    with pytest.raises(ValueError, match="step must be greater than zero"):
        eager.zeros(5)[::-1]


def test_int_index_out_of_range_is_an_index_error_naming_dim_and_size():
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
        eager.zeros(2, 3)[0, 3]


def test_too_many_indices():
    with pytest.raises(IndexError, match=r"too many indices for tensor of dimension 1 \(shape \(2,\)\)"):
        eager.zeros(2)[0, 0]


def test_float_index_tensor_is_rejected():
    with pytest.raises(IndexError, match="tensors used as indices must be long, int or bool"):
        eager.zeros(2)[eager.tensor([0.0])]


def test_index_tensor_out_of_range_names_the_op_and_the_shape():
    with pytest.raises(IndexError, match=r"index: .*out of bounds.*input shape \(2,\)"):
        eager.zeros(2)[eager.tensor([5])]


SET_KEYS = [
    (1, 7.0), ((slice(None), 1), [1.0, 2.0, 3.0, 4.0]), ((Ellipsis, slice(1, 3)), [[[5.0], [6.0], [7.0]]]),
    ([0, 1], 3.0), ((slice(None), [0, 2]), [[[1.0], [2.0]]]),
]


@pytest.mark.parametrize("key,value", SET_KEYS, ids=[repr(k) for k, _ in SET_KEYS])
def test_setitem_broadcasts_like_pytorch(key, value):
    torch = _torch()
    ours, theirs = eager.tensor(X), torch.tensor(X)
    ours[_key_for(eager, key)] = eager.tensor(value, dtype=eager.float64)
    theirs[_key_for(torch, key)] = torch.tensor(value, dtype=torch.float64)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_masked_assignment():
    x = eager.tensor([[1.0, -2.0], [-3.0, 4.0]])
    x[x < 0] = 0
    np.testing.assert_array_equal(x.numpy(), [[1, 0], [0, 4]])
    x[x > 0] = eager.tensor([10.0, 40.0])
    np.testing.assert_array_equal(x.numpy(), [[10, 0], [0, 40]])


def test_setitem_casts_the_value_to_the_tensors_dtype():
    x = eager.zeros(3, dtype=eager.int64)
    x[1] = 7
    assert x.dtype is eager.int64
    np.testing.assert_array_equal(x.numpy(), [0, 7, 0])


def test_setitem_gradient_goes_to_the_value_and_the_rest_of_the_tensor():
    w = eager.tensor([1.0, 2.0], dtype=eager.float64, requires_grad=True)
    x = eager.tensor([3.0, 4.0, 5.0], dtype=eager.float64, requires_grad=True)
    y = x * 1
    y[1:] = w * w
    (y * eager.tensor([1.0, 10.0, 100.0], dtype=eager.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(w.grad.numpy(), [20.0, 400.0])


def test_index_gradient_accumulates_repeated_indices():
    x = eager.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[eager.tensor([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, 1.0])


def test_gather_index_out_of_range_message():
    x = eager.zeros(2, 3)
    with pytest.raises(IndexError) as info:
        eager.gather(x, 1, eager.tensor([[0, 5]]))
    message = str(info.value)
    assert message.startswith("gather: index 5 is out of bounds for dimension 1 with size 3")
    assert "test_indexing.py:" in message  # the user's line


def test_cat_shape_mismatch_message():
    with pytest.raises(eager.OpError) as info:
        eager.cat([eager.zeros(2, 3), eager.zeros(3, 4)], dim=1)
    message = str(info.value)
    assert message.startswith("cat: expected all tensors to have the same shape except in dim 1, "
                              "got (2, 3) (tensor 0) and (3, 4) (tensor 1)")
    assert "test_indexing.py:" in message


def test_scatter_src_smaller_than_index_is_rejected():
    with pytest.raises(eager.OpError, match=r"scatter: index \(1, 3\) is larger than src \(1, 2\)"):
        eager.scatter(eager.zeros(1, 4), 1, eager.tensor([[0, 1, 2]]), eager.zeros(1, 2))


def test_reflect_pad_wider_than_the_input_is_rejected():
    with pytest.raises(eager.OpError, match="pad: reflect padding"):
        eager.nn.functional.pad(eager.zeros(1, 2), (2, 0), mode="reflect")


def test_split_sizes_must_add_up():
    with pytest.raises(eager.OpError, match=r"split: sizes \[1, 1\] do not add up to 3"):
        eager.split(eager.zeros(3), [1, 1])
