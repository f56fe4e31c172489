"""The IR interpreter: runs a graph with the eager ops (NumPy on cpu, CuPy on cuda).

Registry ops go through the eager dispatcher (`eager.ops.dispatch.apply`), so the interpreter
computes exactly what eager mode computes, records autograd history when inputs require grad,
and reports each op to an active tracer. `prim::` ops run from the table in `prims.py`; params,
`if`, `loop` and `fused` are run here because they need the graph or nested blocks.
"""
from __future__ import annotations

import numpy as np

from eager.ops.dispatch import apply
from eager.ops.registry import REGISTRY
from eager.tensor import Tensor

from .ir import Block, Graph, InputAttr, IRError, Node
from .prims import PRIMS, scalar_tensor
from .types import TensorType


def as_tensor(value) -> Tensor:
    """A graph parameter as an eager tensor (NumPy arrays are wrapped without copying)."""
    return value if isinstance(value, Tensor) else Tensor._wrap(np.asarray(value))


def as_array(value) -> np.ndarray:
    """A graph parameter's data as a NumPy array on the cpu (for passes that compute with it)."""
    return as_tensor(value).detach().numpy()


def _check_input(value, arg, index: int) -> None:
    """A tensor input must be a Tensor of the declared dtype: ops would otherwise promote a wrong
    dtype silently (an int64 batch into a float32 model computes in float64)."""
    if not isinstance(value.type, TensorType):
        return
    name = value.name or f"#{index}"
    if not isinstance(arg, Tensor):
        hint = " (wrap it: eager.tensor(array))" if isinstance(arg, np.ndarray) else ""
        raise TypeError(f"input {name} takes {value.type}, got {type(arg).__name__}{hint}")
    if value.type.dtype is not None and arg.dtype != value.type.dtype:
        raise TypeError(f"input {name} takes {value.type.dtype.name}, got {arg.dtype.name} "
                        f"(convert it: x.to(eager.{value.type.dtype.name}))")


class Interpreter:
    """Evaluates one graph; `run(*args)` returns the list of graph outputs."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.device = "cpu"  # where tensors made by the graph itself go: the device of the inputs

    def run(self, *args) -> list:
        """Run the graph on `args`; the list of its outputs."""
        if len(args) != len(self.graph.inputs):
            raise TypeError(f"the graph takes {len(self.graph.inputs)} input(s) "
                            f"({', '.join(str(v.type) for v in self.graph.inputs)}), got {len(args)}")
        for index, (value, arg) in enumerate(zip(self.graph.inputs, args)):
            _check_input(value, arg, index)
        self.device = next((a.device.type for a in args if isinstance(a, Tensor)), "cpu")
        return self.block(self.graph.block, {}, list(args))

    def block(self, block: Block, env: dict, args: list) -> list:
        """Run `block` with its params bound to `args`; the values it returns."""
        for p, a in zip(block.params, args):
            env[p] = a
        for node in block.nodes:
            try:
                outs = self.node(node, env)
            except Exception as exc:  # name the IR node and its source line, keep the exception
                _name_node(exc, node)
                raise
            for v, o in zip(node.outputs, outs):
                env[v] = o
        return [env[v] for v in block.returns]

    def node(self, node: Node, env: dict) -> list:
        """The outputs of one node, its inputs read from `env`."""
        values = [env[v] for v in node.inputs]
        op = REGISTRY.get(node.op)
        if op is not None:
            attrs = node.attrs
            dynamic = [a.index for a in attrs.values() if type(a) is InputAttr]
            if dynamic:  # operands are the inputs that do not feed run-time attributes
                attrs = node.attr_values(values)
                values = [x for i, x in enumerate(values) if i not in dynamic]
            out = apply(op, tuple(values), attrs)
            return list(out) if op.num_outputs > 1 else [out]
        handler = _STRUCTURAL.get(node.op)
        if handler is not None:
            return handler(self, node, values, env)
        prim = PRIMS.get(node.op)
        if prim is None or prim.run is None:
            raise IRError(f"{node.describe()}: the interpreter cannot run {node.op!r}")
        return prim.run(*values, **node.attrs)

    def param(self, node: Node, values: list, env: dict) -> list:
        """`prim::param`: the tensor `graph.params[name]`."""
        name = node.attrs["name"]
        if name not in self.graph.params:
            raise IRError(f"{node.describe()}: parameter {name!r} is missing from graph.params")
        return [as_tensor(self.graph.params[name])]

    def scalar_tensor(self, node: Node, values: list, env: dict) -> list:
        """`prim::scalar_tensor`: a 0-d tensor on the device of the graph's inputs."""
        return [scalar_tensor(values[0], node.attrs["dtype"], self.device)]

    def if_(self, node: Node, values: list, env: dict) -> list:
        """`prim::if`: run the block the condition picks."""
        return self.block(node.blocks[0] if values[0] else node.blocks[1], env, [])

    def loop(self, node: Node, values: list, env: dict) -> list:
        """`prim::loop`: run the body while the condition holds and the trip count allows."""
        trip_count, cond, carried = values[0], values[1], values[2:]
        body, i = node.blocks[0], 0
        while cond and i < trip_count:
            cond, *carried = self.block(body, env, [i, *carried])
            i += 1
        return carried

    def fused(self, node: Node, values: list, env: dict) -> list:
        """`prim::fused` and `prim::call`: run the block with its params bound to the inputs."""
        return self.block(node.blocks[0], env, values)


_STRUCTURAL = {"prim::param": Interpreter.param, "prim::scalar_tensor": Interpreter.scalar_tensor,
               "prim::if": Interpreter.if_, "prim::loop": Interpreter.loop,
               "prim::fused": Interpreter.fused, "prim::call": Interpreter.fused}


def _name_node(exc: Exception, node: Node) -> None:
    """Append the innermost IR node (and its source line) to `exc`'s message, once."""
    if exc.args and isinstance(exc.args[0], str) and "[while running node" not in exc.args[0]:
        exc.args = (f"{exc.args[0]} [while running {node.describe()}]",) + exc.args[1:]
