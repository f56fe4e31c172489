"""Linear splitting: a linear read only through last-dim slices becomes one linear per slice."""
import numpy as np
import pytest

import eager
from jitscript import ScriptModule, parse
from jitscript.passes.split_linear import split_linears

from .helpers import check_pass, run_pass

QKV = '''\
graph(%x : Tensor(float32, [N, 4])):
  %w : Tensor(float32, [9, 4]) = prim::param[name="qkv.weight"]()
  %b : Tensor(float32, [9]) = prim::param[name="qkv.bias"]()
  %y : Tensor(float32, [N, 9]) = linear(%x, %w, %b)  # m.py:1
  %q : Tensor(float32, [N, 3]) = getitem[items=(("slice", None, None, None), ("slice", 0, 3, None))](%y)  # m.py:2
  %k : Tensor(float32, [N, 4]) = getitem[items=(("slice", None, None, None), ("slice", -6, -2, None))](%y)  # m.py:3
  %v : Tensor(float32, [N, 3]) = getitem[items=(("slice", None, None, None), ("slice", 0, None, 3))](%y)  # m.py:4
  return (%q, %k, %v)
'''


def params():
    eager.manual_seed(2)
    return {"qkv.weight": eager.randn(9, 4), "qkv.bias": eager.randn(9)}


def test_each_slice_becomes_its_own_linear():
    graph = check_pass(split_linears, QKV, '''\
        graph(%x : Tensor(float32, [N, 4])):
          %qkv_rows_0_3_weight : Tensor(float32, [3, 4]) = prim::param[name="qkv.rows_0_3.weight"]()  # m.py:2
          %qkv_rows_0_3_bias : Tensor(float32, [3]) = prim::param[name="qkv.rows_0_3.bias"]()  # m.py:2
          %0 : Tensor(float32, [N, 3]) = linear(%x, %qkv_rows_0_3_weight, %qkv_rows_0_3_bias)  # m.py:2
          %qkv_rows_3_7_weight : Tensor(float32, [4, 4]) = prim::param[name="qkv.rows_3_7.weight"]()  # m.py:3
          %qkv_rows_3_7_bias : Tensor(float32, [4]) = prim::param[name="qkv.rows_3_7.bias"]()  # m.py:3
          %1 : Tensor(float32, [N, 4]) = linear(%x, %qkv_rows_3_7_weight, %qkv_rows_3_7_bias)  # m.py:3
          %qkv_rows_0_9_3_weight : Tensor(float32, [3, 4]) = prim::param[name="qkv.rows_0_9_3.weight"]()  # m.py:4
          %qkv_rows_0_9_3_bias : Tensor(float32, [3]) = prim::param[name="qkv.rows_0_9_3.bias"]()  # m.py:4
          %2 : Tensor(float32, [N, 3]) = linear(%x, %qkv_rows_0_9_3_weight, %qkv_rows_0_9_3_bias)  # m.py:4
          return (%0, %1, %2)
        ''', params())
    assert "qkv.weight" not in graph.params


@pytest.mark.parametrize("batch", [1, 3])
def test_split_projections_compute_what_the_slices_did(batch):
    x = eager.randn(batch, 4)
    want = ScriptModule(parse(QKV, params()))(x)
    got = ScriptModule(run_pass(split_linears, QKV, params()))(x)
    # BLAS may sum a 3-row product in another order than the 9-row one: equal up to rounding.
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reader", [
    '%q : Tensor(float32, [N, 9]) = relu(%y)',
    '%q : Tensor(float32, [N, 3]) = getitem[items=(("slice", 1, None, None), ("slice", 0, 3, None))](%y)',
    '%q : Tensor(float32, [N, 9]) = getitem[items=(("slice", None, None, None),)](%y)',
])
def test_a_linear_with_any_other_reader_stays(reader):
    text = f'''\
        graph(%x : Tensor(float32, [N, 4])):
          %w : Tensor(float32, [9, 4]) = prim::param[name="qkv.weight"]()
          %y : Tensor(float32, [N, 9]) = linear(%x, %w)
          %k : Tensor(float32, [N, 3]) = getitem[items=(("slice", None, None, None), ("slice", 0, 3, None))](%y)
          {reader}
          return (%q, %k)
        '''
    check_pass(split_linears, text, text, params())


def test_a_computed_weight_stays():
    text = '''\
        graph(%x : Tensor(float32, [N, 4]), %w : Tensor(float32, [9, 4])):
          %y : Tensor(float32, [N, 9]) = linear(%x, %w)
          %q : Tensor(float32, [N, 3]) = getitem[items=(("slice", None, None, None), ("slice", 0, 3, None))](%y)
          return (%q)
        '''
    check_pass(split_linears, text, text)
