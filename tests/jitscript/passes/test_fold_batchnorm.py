"""Conv/Linear + BatchNorm folding, text in, text out, and numerically."""
import numpy as np
import pytest

import eager
import jitscript
from eager.ops.registry import REGISTRY
from jitscript import ScriptModule, parse
from jitscript.ir import format_attr
from jitscript.passes.fold_batchnorm import fold_batchnorm

from .helpers import check_pass

pytestmark = pytest.mark.skipif("batch_norm" not in REGISTRY or "conv2d" not in REGISTRY,
                                reason="batch_norm/conv2d land with the ops-nn branch")

LINEAR_BN = '''\
graph(%x : Tensor(float32, [N, 3])):
  %w : Tensor(float32, [2, 3]) = prim::param[name="fc.weight"]()
  %b : Tensor(float32, [2]) = prim::param[name="fc.bias"]()
  %y : Tensor(float32, [N, 2]) = linear(%x, %w, %b)  # m.py:4
  %mean : Tensor(float32, [2]) = prim::param[name="bn.running_mean"]()
  %var : Tensor(float32, [2]) = prim::param[name="bn.running_var"]()
  %g : Tensor(float32, [2]) = prim::param[name="bn.weight"]()
  %beta : Tensor(float32, [2]) = prim::param[name="bn.bias"]()
  %z : Tensor(float32, [N, 2]) = batch_norm[eps=1e-05](%y, %mean, %var, %g, %beta)  # m.py:5
  %r : Tensor(float32, [N, 2]) = relu(%z)
  return (%r)
'''


def params():
    eager.manual_seed(1)
    return {"fc.weight": eager.randn(2, 3), "fc.bias": eager.randn(2), "bn.running_mean": eager.randn(2),
            "bn.running_var": eager.rand(2) + 0.5, "bn.weight": eager.randn(2), "bn.bias": eager.randn(2)}


def test_linear_batchnorm_becomes_one_linear_with_new_params():
    graph = check_pass(fold_batchnorm, LINEAR_BN, '''\
        graph(%x : Tensor(float32, [N, 3])):
          %fc_bn_folded_weight : Tensor(float32, [2, 3]) = prim::param[name="fc.bn_folded.weight"]()  # m.py:4
          %fc_bn_folded_bias : Tensor(float32, [2]) = prim::param[name="fc.bn_folded.bias"]()  # m.py:4
          %y : Tensor(float32, [N, 2]) = linear(%x, %fc_bn_folded_weight, %fc_bn_folded_bias)  # m.py:4
          %r : Tensor(float32, [N, 2]) = relu(%y)
          return (%r)
        ''', params())
    assert sorted(graph.params) == ["fc.bn_folded.bias", "fc.bn_folded.weight"]


def test_folded_linear_computes_the_same():
    x = eager.randn(4, 3)
    before = ScriptModule(parse(LINEAR_BN, params()))(x)
    after = ScriptModule(fold_batchnorm(parse(LINEAR_BN, params())))(x)
    np.testing.assert_allclose(after.numpy(), before.numpy(), rtol=1e-5, atol=1e-6)


def _conv_attributes() -> str:
    """The attribute text conv2d records for a plain 3x3 convolution (whatever its attribute layout)."""
    example = (eager.randn(1, 2, 5, 5), eager.randn(4, 2, 3, 3))
    sm = jitscript.trace(lambda x, w: eager.nn.functional.conv2d(x, w), example)
    node = next(n for n in sm.graph.nodes() if n.op == "conv2d")
    return ", ".join(f"{k}={format_attr(v)}" for k, v in node.attrs.items())


def test_conv_without_bias_folds_and_computes_the_same():
    geometry = _conv_attributes()
    text = f'''\
graph(%x : Tensor(float32, [N, 2, 5, 5])):
  %w : Tensor(float32, [4, 2, 3, 3]) = prim::param[name="conv.weight"]()
  %none : None = prim::constant[value=None]()
  %y : Tensor(float32, [N, 4, 3, 3]) = conv2d[{geometry}](%x, %w, %none)
  %mean : Tensor(float32, [4]) = prim::param[name="bn.running_mean"]()
  %var : Tensor(float32, [4]) = prim::param[name="bn.running_var"]()
  %z : Tensor(float32, [N, 4, 3, 3]) = batch_norm[eps=0.001](%y, %mean, %var, %none, %none)
  return (%z)
'''
    p = {"conv.weight": eager.randn(4, 2, 3, 3), "bn.running_mean": eager.randn(4), "bn.running_var": eager.rand(4) + 1}
    folded = fold_batchnorm(parse(text, p))
    assert [n.op for n in folded.nodes()] == ["prim::param", "prim::param", "conv2d"]
    x = eager.randn(2, 2, 5, 5)
    np.testing.assert_allclose(ScriptModule(folded)(x).numpy(), ScriptModule(parse(text, p))(x).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_batchnorm_with_computed_statistics_is_not_folded():
    text = LINEAR_BN.replace('%mean : Tensor(float32, [2]) = prim::param[name="bn.running_mean"]()',
                             '%mean : Tensor(float32, [2]) = mean[dim=(0,), keepdim=False](%y)')
    check_pass(fold_batchnorm, text, text, params())


def test_linear_output_used_twice_is_not_folded():
    text = LINEAR_BN.replace("return (%r)", "return (%r, %y)")
    check_pass(fold_batchnorm, text, text, params())
