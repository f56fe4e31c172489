"""Scale folding: a constant scale of a matmul goes into the linear behind one operand."""
import numpy as np
import pytest

import eager
from jitscript import ScriptModule, parse
from jitscript.passes.fold_scale import fold_scales

from .helpers import check_pass, run_pass

SCORES = '''\
graph(%x : Tensor(float32, [N, 3, 4]), %k : Tensor(float32, [N, 2, 3])):
  %w : Tensor(float32, [4, 4]) = prim::param[name="q.weight"]()
  %b : Tensor(float32, [4]) = prim::param[name="q.bias"]()
  %q : Tensor(float32, [N, 3, 4]) = linear(%x, %w, %b)  # m.py:1
  %n : int = prim::constant[value=0]()
  %c : float = prim::constant[value=0.5]()
  %size : int = prim::size(%q, %n)  # m.py:2
  %h : Tensor(float32, [1, N, 3, 4]) = unsqueeze[dim=0](%q)  # m.py:3
  %s : Tensor(float32, [N, 3, 4]) = squeeze[dims=(0,)](%h)  # m.py:4
  %p : Tensor(float32, [N, 3, 4]) = permute[dims=(0, 1, 2)](%s)  # m.py:5
  %kt : Tensor(float32, [N, 4, 3]) = permute[dims=(0, 2, 1)](%x)  # m.py:6
  %a : Tensor(float32, [N, 3, 3]) = matmul(%p, %kt)  # m.py:7
  %t : Tensor(float32, []) = prim::scalar_tensor[dtype=float32](%c)
  %y : Tensor(float32, [N, 3, 3]) = mul(%t, %a)  # m.py:8
  return (%y, %size)
'''


def params():
    eager.manual_seed(3)
    return {"q.weight": eager.randn(4, 4), "q.bias": eager.randn(4)}


def test_the_scale_goes_into_the_linear():
    graph = run_pass(fold_scales, SCORES, params())
    assert [n.op for n in graph.block.nodes if not n.op.startswith("prim::")] == [
        "linear", "unsqueeze", "squeeze", "permute", "permute", "matmul"]
    assert sorted(graph.params) == ["q.scaled.bias", "q.scaled.weight"]
    np.testing.assert_allclose(graph.params["q.scaled.weight"].numpy(), params()["q.weight"].numpy() * 0.5)


@pytest.mark.parametrize("batch", [1, 3])
def test_the_scaled_graph_computes_what_the_original_did(batch):
    x = eager.randn(batch, 3, 4)
    want = ScriptModule(parse(SCORES, params()))(x, x)[0].numpy()
    got = ScriptModule(run_pass(fold_scales, SCORES, params()))(x, x)[0].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("change", [
    ("= linear(%x, %w, %b)", '= linear[activation="relu"](%x, %w, %b)'),  # scale and relu need not commute
    ("return (%y, %size)", "return (%y, %size, %q)"),  # the unscaled projection is read elsewhere
    ("return (%y, %size)", "return (%y, %size, %a)"),  # the unscaled product is read elsewhere
])
def test_what_cannot_fold_stays(change):
    text = SCORES.replace(*change)
    check_pass(fold_scales, text, text, params())


def test_a_computed_weight_stays():
    text = '''\
        graph(%x : Tensor(float32, [2, 4]), %w : Tensor(float32, [4, 4])):
          %q : Tensor(float32, [2, 4]) = linear(%x, %w)
          %a : Tensor(float32, [2, 2]) = matmul(%q, %x)
          %c : float = prim::constant[value=2.0]()
          %t : Tensor(float32, []) = prim::scalar_tensor[dtype=float32](%c)
          %y : Tensor(float32, [2, 2]) = mul(%a, %t)
          return (%y)
        '''
    check_pass(fold_scales, text, text)


def test_a_computed_scale_stays():
    text = SCORES.replace("prim::scalar_tensor[dtype=float32](%c)", "prim::scalar_tensor[dtype=float32](%size)")
    check_pass(fold_scales, text, text.replace("  %c : float = prim::constant[value=0.5]()\n", ""), params())
