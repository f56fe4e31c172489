"""Elementwise fusion, text in, text out."""
import numpy as np

import eager
from jitscript import ScriptModule, parse
from jitscript.passes.fuse import fuse_elementwise

from .helpers import check_pass

CHAIN = '''\
graph(%x : Tensor(float32, [2, 3]), %w : Tensor(float32, [3, 3])):
  %m : Tensor(float32, [2, 3]) = matmul(%x, %w)  # m.py:1
  %two : float = prim::constant[value=2.0]()
  %s : Tensor(float32, []) = prim::scalar_tensor[dtype=float32](%two)
  %a : Tensor(float32, [2, 3]) = mul(%m, %s)  # m.py:2
  %b : Tensor(float32, [2, 3]) = tanh(%a)  # m.py:3
  %c : Tensor(float32, [2, 3]) = add(%b, %m)  # m.py:4
  %d : Tensor(float32, [2, 3]) = matmul(%c, %w)  # m.py:5
  return (%d, %b)
'''


def test_adjacent_elementwise_ops_become_one_fused_node():
    check_pass(fuse_elementwise, CHAIN, '''\
        graph(%x : Tensor(float32, [2, 3]), %w : Tensor(float32, [3, 3])):
          %two : float = prim::constant[value=2.0]()
          %s : Tensor(float32, []) = prim::scalar_tensor[dtype=float32](%two)
          %m : Tensor(float32, [2, 3]) = matmul(%x, %w)  # m.py:1
          %b : Tensor(float32, [2, 3]), %c : Tensor(float32, [2, 3]) = prim::fused(%m, %s)  # m.py:2
            block0(%m.1 : Tensor(float32, [2, 3]), %s.1 : Tensor(float32, [])):
              %a : Tensor(float32, [2, 3]) = mul(%m.1, %s.1)  # m.py:2
              %b.1 : Tensor(float32, [2, 3]) = tanh(%a)  # m.py:3
              %c.1 : Tensor(float32, [2, 3]) = add(%b.1, %m.1)  # m.py:4
              -> (%b.1, %c.1)
          %d : Tensor(float32, [2, 3]) = matmul(%c, %w)  # m.py:5
          return (%d, %b)
        ''')


def test_fused_graph_computes_the_same():
    x, w = eager.randn(2, 3), eager.randn(3, 3)
    before = ScriptModule(parse(CHAIN))(x, w)
    after = ScriptModule(fuse_elementwise(parse(CHAIN)))(x, w)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_single_elementwise_op_is_left_alone():
    text = '''\
        graph(%x : Tensor(float32, [2])):
          %a : Tensor(float32, [2]) = relu(%x)
          return (%a)
        '''
    check_pass(fuse_elementwise, text, text)


def test_fusion_inside_loop_bodies():
    graph = check_pass(fuse_elementwise, '''\
        graph(%x : Tensor(float32, [2]), %n : int):
          %t : bool = prim::constant[value=True]()
          %r : Tensor(float32, [2]) = prim::loop(%n, %t, %x)
            block0(%i : int, %h : Tensor(float32, [2])):
              %a : Tensor(float32, [2]) = tanh(%h)
              %b : Tensor(float32, [2]) = sigmoid(%a)
              -> (%t, %b)
          return (%r)
        ''', '''\
        graph(%x : Tensor(float32, [2]), %n : int):
          %t : bool = prim::constant[value=True]()
          %r : Tensor(float32, [2]) = prim::loop(%n, %t, %x)
            block0(%i : int, %h : Tensor(float32, [2])):
              %b : Tensor(float32, [2]) = prim::fused(%h)
                block0(%h.1 : Tensor(float32, [2])):
                  %a : Tensor(float32, [2]) = tanh(%h.1)
                  %b.1 : Tensor(float32, [2]) = sigmoid(%a)
                  -> (%b.1)
              -> (%t, %b)
          return (%r)
        ''')
    assert ScriptModule(graph)(eager.zeros(2), 1).tolist() == [0.5, 0.5]
