"""Small IR graphs (text + parameters) that exercise every part of the .esm format."""
from __future__ import annotations

import numpy as np

import jitscript
from jitscript import ScriptModule

MLP = """\
graph(%x : Tensor(float32, [N, 4])):
  %w1 : Tensor(float32, [8, 4]) = prim::param[name="fc1.weight"]()
  %b1 : Tensor(float32, [8]) = prim::param[name="fc1.bias"]()
  %h : Tensor(float32, [N, 8]) = linear(%x, %w1, %b1)  # mlp.py:10:12
  %a : Tensor(float32, [N, 8]) = relu(%h)  # mlp.py:11:12
  %w2 : Tensor(float32, [3, 8]) = prim::param[name="fc2.weight"]()
  %y : Tensor(float32, [N, 3]) = linear(%a, %w2)  # mlp.py:12:16
  return (%y)
"""

CONTROL_FLOW = """\
graph(%x : Tensor(float32, [N, 4]), %flag : bool, %n : int):
  %scale : Tensor(float32, [4]) = prim::param[name="scale"]()
  %r : Tensor(float32, [N, 4]) = prim::if(%flag)  # cf.py:5:8
    block0():
      %p : Tensor(float32, [N, 4]) = mul(%x, %scale)
      -> (%p)
    block1():
      %q : Tensor(float32, [N, 4]) = neg(%x)
      -> (%q)
  %true : bool = prim::constant[value=True]()
  %out : Tensor(float32, [N, 4]) = prim::loop(%n, %true, %r)  # cf.py:9:8
    block0(%i : int, %acc : Tensor(float32, [N, 4])):
      %t : Tensor(float32, [N, 4]) = tanh(%acc)
      -> (%true, %t)
  return (%out)
"""

FUSED_AND_RUNTIME_ATTRS = """\
graph(%x : Tensor(float32, [N, 2, 3])):
  %zero : int = prim::constant[value=0]()
  %n : int = prim::size(%x, %zero)
  %minus1 : int = prim::constant[value=-1]()
  %shape : List[int] = prim::list_construct(%n, %minus1)
  %flat : Tensor(float32, [N, 6]) = reshape[shape=$1](%x, %shape)
  %g : Tensor(float32, [N, 6]) = prim::fused(%flat)
    block0(%u : Tensor(float32, [N, 6])):
      %v : Tensor(float32, [N, 6]) = sigmoid(%u)
      %w : Tensor(float32, [N, 6]) = mul(%u, %v)
      -> (%w)
  %c : Tensor(float32, [N, 6]) = clamp[min=-1.5, max=None](%g)
  %s : Tensor(float32, [N]) = sum[dim=(1,), keepdim=False](%c)
  %d : Tensor(float64, [N]) = cast[dtype=float64](%s)
  return (%d, %g)
"""


def _rng_params(shapes: dict[str, tuple], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}


def mlp() -> ScriptModule:
    """linear -> relu -> linear (no bias) with a symbolic batch."""
    return ScriptModule(jitscript.parse(MLP, _rng_params({"fc1.weight": (8, 4), "fc1.bias": (8,),
                                                          "fc2.weight": (3, 8)}, 0)))


def control_flow() -> ScriptModule:
    """prim::if on a bool input and prim::loop with a loop-carried tensor."""
    return ScriptModule(jitscript.parse(CONTROL_FLOW, _rng_params({"scale": (4,)}, 1)))


def fused_and_runtime_attrs() -> ScriptModule:
    """A prim::fused sub-graph, a reshape whose shape is a run-time input, typed attributes."""
    return ScriptModule(jitscript.parse(FUSED_AND_RUNTIME_ATTRS, {}))


def example_inputs(name: str, batch: int = 3) -> tuple:
    """Fresh inputs for the graph `name` at batch size `batch`."""
    rng = np.random.default_rng(batch)
    if name == "mlp":
        return (rng.standard_normal((batch, 4)).astype(np.float32),)
    if name == "control_flow":
        return (rng.standard_normal((batch, 4)).astype(np.float32), True, 2)
    return (rng.standard_normal((batch, 2, 3)).astype(np.float32),)


MODELS = {"mlp": mlp, "control_flow": control_flow, "fused_and_runtime_attrs": fused_and_runtime_attrs}
