"""jitscript.optimize: the default pipeline, verified after each pass, leaves the input alone."""
import numpy as np
import pytest

import eager
import jitscript
from jitscript import IRError, ScriptModule, parse
from jitscript.passes.pipeline import DEFAULT_PIPELINE

TEXT = '''graph(%x : Tensor(float32, [N, 4])):
  %w : Tensor(float32, [3, 4]) = prim::param[name="w"]()
  %one : float = prim::constant[value=1.0]()
  %s : Tensor(float32, []) = prim::scalar_tensor[dtype=float32](%one)
  %y : Tensor(float32, [N, 3]) = linear(%x, %w)
  %a : Tensor(float32, [N, 3]) = mul(%y, %s)
  %b : Tensor(float32, [N, 3]) = tanh(%a)
  %c : Tensor(float32, [N, 3]) = sigmoid(%b)
  %d : Tensor(float32, [N, 3]) = tanh(%a)
  return (%c, %d)
'''


def module():
    return ScriptModule(parse(TEXT, {"w": eager.randn(3, 4)}))


def test_default_pipeline_simplifies_dedups_and_fuses():
    opt = jitscript.optimize(module())
    param, linear, sigmoid = opt.graph.block.nodes
    assert [n.op for n in (param, linear, sigmoid)] == ["prim::param", "linear", "sigmoid"]
    # x * 1 is gone, tanh(%a) computed twice is one value, and that tanh is folded into the linear
    assert linear.attrs == {"activation": "tanh"}
    assert set(opt.graph.outputs) == {linear.outputs[0], sigmoid.outputs[0]}


def test_optimize_does_not_change_its_input_and_computes_the_same():
    sm = module()
    before = str(sm.graph)
    opt = jitscript.optimize(sm)
    assert str(sm.graph) == before
    x = eager.randn(5, 4)
    for a, b in zip(opt(x), sm(x)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_pipeline_names_a_pass_that_breaks_the_graph():
    def breaks(graph):
        graph.block.nodes[0].attrs["bogus"] = 1

    with pytest.raises(IRError, match="after pass 'breaks'"):
        jitscript.optimize(module(), [("breaks", breaks)])


def test_default_pipeline_is_one_named_list():
    assert [name for name, _ in DEFAULT_PIPELINE] == [
        "inline", "fold_batchnorm", "constant_fold", "fold_static_sizes", "simplify", "cse", "dce", "infer_shapes",
        "split_linear", "fold_scale", "fold_layout", "fuse_activation", "fuse"]
