"""Activation fusion: a sole-reader activation folds into its linear/matmul/conv2d producer."""
import numpy as np
import pytest

import eager
from eager.errors import OpError
from eager.ops.dispatch import apply
from eager.ops.elementwise import FUSED_ACTIVATIONS
from eager.ops.linalg import LINEAR
from jitscript import ScriptModule, parse, verify
from jitscript.passes.fuse_activation import fuse_activations

from .helpers import check_pass

MLP = '''\
graph(%x : Tensor(float32, [N, 4]), %w : Tensor(float32, [3, 4]), %v : Tensor(float32, [3, 3])):
  %h : Tensor(float32, [N, 3]) = linear(%x, %w)  # m.py:1
  %y : Tensor(float32, [N, 3]) = gelu[approximate="tanh"](%h)  # m.py:2
  %z : Tensor(float32, [N, 3]) = linear(%y, %v)  # m.py:3
  %r : Tensor(float32, [N, 3]) = relu(%z)  # m.py:4
  return (%r)
'''


def test_activation_folds_into_its_producer():
    check_pass(fuse_activations, MLP, '''\
        graph(%x : Tensor(float32, [N, 4]), %w : Tensor(float32, [3, 4]), %v : Tensor(float32, [3, 3])):
          %h : Tensor(float32, [N, 3]) = linear[activation="gelu_tanh"](%x, %w)  # m.py:1
          %z : Tensor(float32, [N, 3]) = linear[activation="relu"](%h, %v)  # m.py:3
          return (%z)
        ''')


@pytest.mark.parametrize("name", sorted(FUSED_ACTIVATIONS))
@pytest.mark.parametrize("producer", ["linear", "matmul", "conv2d"])
def test_fused_graph_computes_what_the_unfused_one_does(producer, name):
    op, attrs = FUSED_ACTIVATIONS[name]
    attr_text = "".join(f'[{k}="{v}"]' for k, v in attrs.items())
    if producer == "conv2d":
        signature = "%x : Tensor(float32, [2, 3, 5, 5]), %w : Tensor(float32, [4, 3, 3, 3])"
        call = 'conv2d[stride=(1, 1), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1](%x, %w)'
        out_type, inputs = "Tensor(float32, [2, 4, 5, 5])", (eager.randn(2, 3, 5, 5), eager.randn(4, 3, 3, 3))
    else:
        signature = "%x : Tensor(float32, [5, 7]), %w : Tensor(float32, [7, 7])"
        call = f"{producer}(%x, %w)"
        out_type, inputs = "Tensor(float32, [5, 7])", (eager.randn(5, 7) * 3, eager.randn(7, 7))
    text = (f"graph({signature}):\n  %h : {out_type} = {call}\n"
            f"  %y : {out_type} = {op.name}{attr_text}(%h)\n  return (%y)\n")
    fused = verify(fuse_activations(parse(text)))
    assert [n.op for n in fused.block.nodes] == [producer]
    assert fused.block.nodes[0].attrs["activation"] == name
    want = ScriptModule(parse(text))(*inputs).numpy()
    np.testing.assert_allclose(ScriptModule(fused)(*inputs).numpy(), want, rtol=1e-6, atol=1e-7)


def test_an_activation_whose_input_has_other_readers_stays():
    text = '''\
        graph(%x : Tensor(float32, [2, 4]), %w : Tensor(float32, [3, 4])):
          %h : Tensor(float32, [2, 3]) = linear(%x, %w)
          %y : Tensor(float32, [2, 3]) = relu(%h)
          return (%y, %h)
        '''
    check_pass(fuse_activations, text, text)


def test_other_producers_and_activations_stay():
    text = '''\
        graph(%x : Tensor(float32, [2, 4])):
          %h : Tensor(float32, [2, 4]) = exp(%x)
          %y : Tensor(float32, [2, 4]) = relu(%h)
          %z : Tensor(float32, [2, 4]) = matmul(%y, %y)
          %r : Tensor(float32, [2, 4]) = abs(%z)
          return (%r)
        '''
    check_pass(fuse_activations, text, text)


def test_one_activation_per_producer():
    check_pass(fuse_activations, '''\
        graph(%x : Tensor(float32, [2, 2])):
          %h : Tensor(float32, [2, 2]) = matmul(%x, %x)
          %a : Tensor(float32, [2, 2]) = tanh(%h)
          %b : Tensor(float32, [2, 2]) = relu(%a)
          return (%b)
        ''', '''\
        graph(%x : Tensor(float32, [2, 2])):
          %h : Tensor(float32, [2, 2]) = matmul[activation="tanh"](%x, %x)
          %b : Tensor(float32, [2, 2]) = relu(%h)
          return (%b)
        ''')


def test_no_gradient_through_a_fused_activation():
    x = eager.randn(2, 3, requires_grad=True)
    y = apply(LINEAR, (x, eager.randn(4, 3), None), {"activation": "relu"})
    with pytest.raises(OpError, match="fused activation"):
        y.sum().backward()


def test_an_unknown_activation_is_refused():
    with pytest.raises(OpError, match="unknown fused activation 'swish'"):
        apply(LINEAR, (eager.randn(2, 3), eager.randn(4, 3), None), {"activation": "swish"})
