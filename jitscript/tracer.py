"""The tracer: records one eager run of a model as IR.

`trace(model, example_inputs)` pushes a `Tracer` on the dispatcher's `TRACERS` stack and runs
the model once. The dispatcher reports every op (`record`); tensor sizes come back as `TracedInt`s
(ints that remember the `prim::size` value they came from, so a reshape to `[x.size(0), -1]` stays
correct at another batch size); every place where a traced value leaves the graph (`.item()`,
`bool(t)`, ...) reports `escape`, which emits a `TracerWarning` at the user's file:line, since
the trace freezes that value. A `ScriptModule` called while tracing is embedded whole
(`inline_graph`), control flow included.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import numpy as np

from eager.autograd.grad_mode import no_grad
from eager.errors import user_location
from eager.ops.dispatch import TRACERS, OpObserver
from eager.ops.registry import OpDef
from eager.tensor import Tensor

from .interpreter import Interpreter
from .ir import Block, Graph, InputAttr, Value, clone_block
from .module import ScriptModule
from .passes.cse import eliminate_common_subexpressions
from .passes.dce import eliminate_dead_code
from .passes.shape_inference import infer_shapes
from .prims import constant_type, scalar_result_type
from .types import IntType, ListType, TensorType, TupleType


class TracerWarning(UserWarning):
    """A traced value left the graph: the trace holds it as a constant (control flow is frozen)."""


class TracingError(RuntimeError):
    """The trace does not reproduce the model (e.g. at a second batch size)."""


def current_tracer() -> Tracer | None:
    """The innermost active jitscript tracer, or None when nothing is being traced.

    Hook for code that must cooperate with tracing: a `ScriptModule` called while tracing
    embeds its graph, control flow included, with `tracer.inline_graph(graph, args)`.
    """
    return TRACERS[-1] if TRACERS and isinstance(TRACERS[-1], Tracer) else None


class TracedScalar:
    """Mixin of `TracedInt` / `TracedFloat`: a Python number that knows its IR value; arithmetic on
    it is recorded as `prim::` scalar ops while its tracer is active."""

    _ir_value: Value

    def _binary(self, other, op: str, reflected: bool = False):
        tracer = current_tracer()
        if not isinstance(other, (int, float)) or isinstance(other, bool):
            return NotImplemented
        if tracer is None:
            return _plain(self, other, op, reflected)
        a, b = tracer.scalar_value(self), tracer.scalar_value(other)
        if reflected:
            a, b = b, a
        result = _plain(self, other, op, reflected)
        return tracer.scalar_op("prim::" + op, [a, b], result)


_PY_OPS = {"add": "__add__", "sub": "__sub__", "mul": "__mul__", "floordiv": "__floordiv__",
           "mod": "__mod__", "div": "__truediv__"}


def _plain(a, b, op: str, reflected: bool):
    x, y = (b, a) if reflected else (a, b)
    base = float if isinstance(x, float) or isinstance(y, float) or op == "div" else int
    return getattr(base, _PY_OPS[op])(base(x), base(y))


def _scalar_methods(cls):
    for op, dunder in _PY_OPS.items():
        setattr(cls, dunder, lambda self, other, _op=op: TracedScalar._binary(self, other, _op))
        setattr(cls, dunder.replace("__", "__r", 1),
                lambda self, other, _op=op: TracedScalar._binary(self, other, _op, True))
    cls.__neg__ = lambda self: _neg(self)
    return cls


def _neg(x):
    tracer = current_tracer()
    base = float if isinstance(x, float) else int
    if tracer is None:
        return -base(x)
    return tracer.scalar_op("prim::neg", [tracer.scalar_value(x)], -base(x))


def _traced_class(base: type, doc: str) -> type:
    def new(cls, value, ir_value: Value):
        obj = base.__new__(cls, value)
        obj._ir_value = ir_value
        return obj

    name = "Traced" + base.__name__.capitalize()
    return _scalar_methods(type(name, (TracedScalar, base), {"__new__": new, "__doc__": doc,
                                                                 "__module__": __name__}))


TracedInt = _traced_class(int, "An int read from a traced tensor's size (`TracedInt(value, ir_value)`).")
TracedFloat = _traced_class(float, "A float computed from traced sizes (`TracedFloat(value, ir_value)`).")


def _location() -> tuple[str, int]:
    """(file, line) of the user's code that is running (outside eager/jitscript/export)."""
    loc = user_location()
    path, _, line = loc.rpartition(":")
    return path, int(line) if line.isdigit() else 0


class Tracer(OpObserver):
    """Builds a graph from the ops the dispatcher reports while a model runs once."""

    def __init__(self, param_names: dict[int, str] | None = None) -> None:
        self.graph = Graph()
        self.block: Block = self.graph.block
        self.values: dict[int, tuple[object, Value]] = {}  # id(tensor) -> (tensor kept alive, value)
        self.param_names = dict(param_names or {})
        self.constants = 0

    # ---- values --------------------------------------------------------------------------------
    def bind(self, tensor: Tensor, value: Value) -> None:
        """`tensor` now holds `value`."""
        self.values[id(tensor)] = (tensor, value)

    def add_input(self, tensor: Tensor, name: str) -> Value:
        """A graph input for example tensor `tensor`."""
        value = self.block.add_param(tensor_type(tensor), name)
        self.bind(tensor, value)
        return value

    def value_of(self, tensor: Tensor | None) -> Value:
        """The IR value of `tensor`; a tensor the trace has not seen becomes a `prim::param`."""
        if tensor is None:
            return self.constant(None)
        entry = self.values.get(id(tensor))
        if entry is not None and entry[0] is tensor:
            return entry[1]
        name = self.param_names.get(id(tensor))
        value = self.scalar_tensor(tensor) if name is None and tensor.data.ndim == 0 else self.param(tensor, name)
        self.bind(tensor, value)
        return value

    def param(self, tensor: Tensor, name: str | None) -> Value:
        """A `prim::param` for a module parameter (`name`) or another captured tensor (`constN`)."""
        if name is None:
            name, self.constants = f"const{self.constants}", self.constants + 1
        self.graph.params[name] = tensor
        return self.add("prim::param", [], {"name": name}, [tensor_type(tensor)], [name.replace(".", "_")]).output

    def scalar_tensor_of(self, tensor: Tensor, number: TracedScalar) -> None:
        """`tensor` is a 0-d tensor made from the traced number (`x * x.size(1)`)."""
        value = self.add("prim::scalar_tensor", [number._ir_value], {"dtype": tensor.dtype}, [tensor_type(tensor)])
        self.bind(tensor, value.output)

    def filled(self, tensor: Tensor, fill, size: tuple) -> None:
        """`tensor` was created as `full(size, fill)` with a traced size: record it as
        `clone(expand(fill, size))` so its shape follows the batch."""
        fill_value = self.add("prim::scalar_tensor", [self.constant(fill)], {"dtype": tensor.dtype},
                              [TensorType(tensor.dtype, ())]).output
        shape = self.dynamic_attr(tuple(size))
        expanded = self.add("expand", [fill_value, shape], {"shape": InputAttr(1)}, [tensor_type(tensor)]).output
        self.bind(tensor, self.add("clone", [expanded], {}, [tensor_type(tensor)]).output)

    def scalar_tensor(self, tensor: Tensor) -> Value:
        """A 0-d tensor made from a Python number (`x * 2`): a constant, not a parameter."""
        number = self.constant(tensor.data.item())
        return self.add("prim::scalar_tensor", [number], {"dtype": tensor.dtype}, [tensor_type(tensor)]).output

    def add(self, op: str, inputs: list[Value], attrs: dict, types: list, names=None):
        """Append a node located at the user's current line."""
        path, line = _location()
        return self.block.add_node(op, inputs, attrs, types, f"{os.path.basename(path)}:{line}", names=names)

    def constant(self, value) -> Value:
        """A `prim::constant` node's value."""
        return self.add("prim::constant", [], {"value": value}, [constant_type(value)]).output

    def scalar_value(self, x) -> Value:
        """The IR value of a Python number (a traced one's own value, else a constant)."""
        return x._ir_value if isinstance(x, TracedScalar) else self.constant(x)

    def scalar_op(self, op: str, inputs: list[Value], result):
        """Record a scalar op; returns the Python result as a traced number (bools are plain)."""
        out = self.add(op, inputs, {}, [scalar_result_type(op, [v.type for v in inputs])]).output
        if isinstance(result, bool):
            return result
        return TracedFloat(result, out) if isinstance(result, float) else TracedInt(result, out)

    # ---- the dispatcher's hooks ----------------------------------------------------------------
    def record(self, op: OpDef, inputs: tuple, attrs: dict, outputs: tuple) -> None:
        """An op ran: add its node (sizes inside attributes become run-time attributes)."""
        in_values = [self.value_of(t) for t in inputs]
        node_attrs = {}
        for key, value in attrs.items():
            dynamic = self.dynamic_attr(value)
            if dynamic is None:
                node_attrs[key] = _plain_attr(value)
            else:
                node_attrs[key] = InputAttr(len(in_values))
                in_values.append(dynamic)
        node = self.add(op.name, in_values, node_attrs, [tensor_type(t) for t in outputs])
        for t, v in zip(outputs, node.outputs):
            self.bind(t, v)

    def dynamic_attr(self, value) -> Value | None:
        """The IR value of an attribute holding traced sizes, or None for a constant attribute."""
        if isinstance(value, TracedScalar):
            return value._ir_value
        if isinstance(value, (tuple, list)) and any(isinstance(v, TracedScalar) for v in value):
            items = [self.scalar_value(v) for v in value]
            if isinstance(value, list):
                return self.add("prim::list_construct", items, {}, [_list_type(items)]).output
            return self.add("prim::tuple_construct", items, {}, [TupleType(tuple(v.type for v in items))]).output
        return None

    def size(self, tensor: Tensor, dim: int | None):
        """`tensor.size(dim)` (or the whole shape) as traced ints."""
        shape = tensor.data.shape
        if dim is None:
            return tuple(self.size(tensor, d) for d in range(len(shape)))
        dim = dim + len(shape) if dim < 0 else dim
        out = self.add("prim::size", [self.value_of(tensor), self.constant(dim)], {}, [IntType()]).output
        return TracedInt(shape[dim], out)

    def escape(self, tensor: Tensor, what: str) -> None:
        """A traced tensor's value leaves the graph: warn at the user's line."""
        path, line = _location()
        warnings.warn_explicit(
            f"{what} at {path}:{line} turns a traced tensor into a Python value; the trace records the value "
            "seen now as a constant, so Python control flow or arithmetic depending on it is frozen "
            "(compile the function with jitscript.script to keep it)", TracerWarning, path, line)

    def alias(self, new: Tensor, old: Tensor) -> None:
        """`new` now holds `old`'s value (detach, in-place ops)."""
        self.bind(new, self.value_of(old))

    # ---- embedding compiled functions ------------------------------------------------------------
    def inline_graph(self, graph: Graph, args: tuple, name: str = "forward") -> list:
        """Run `graph` on `args` and embed it, control flow intact, as a `prim::call` node."""
        TRACERS.remove(self)
        try:
            outs = Interpreter(graph).run(*args)
        finally:
            TRACERS.append(self)
        mapping: dict[Value, Value] = {}
        body = clone_block(graph.block, mapping)
        for node in body.walk():
            if node.op == "prim::param":
                node.attrs = {"name": self.adopt_param(node.attrs["name"], graph.params[node.attrs["name"]])}
        inputs = [self.value_of(a) if isinstance(a, Tensor) or a is None else self.scalar_value(a) for a in args]
        call = self.add("prim::call", inputs, {"name": name}, [v.type for v in graph.outputs])
        call.blocks, body.owner = [body], call
        return [self.wrap_output(o, v) for o, v in zip(outs, call.outputs)]

    def adopt_param(self, name: str, tensor) -> str:
        """The name under which this trace's graph holds the embedded graph's parameter `name`."""
        for existing, held in self.graph.params.items():
            if held is tensor:
                return existing
        unique, k = name, 1
        while unique in self.graph.params:
            unique, k = f"{name}.{k}", k + 1
        self.graph.params[unique] = tensor
        return unique

    def wrap_output(self, out, value: Value):
        """`out` of an embedded graph, tied to its IR value `value`."""
        if isinstance(out, Tensor):
            self.bind(out, value)
            return out
        if isinstance(out, int) and not isinstance(out, bool):
            return TracedInt(out, value)
        return out


def tensor_type(t: Tensor) -> TensorType:
    """The concrete type of an example tensor."""
    return TensorType(t.dtype, tuple(t.data.shape))


def _list_type(items: list[Value]) -> ListType:
    return ListType(items[0].type if items else IntType())


def _plain_attr(value):
    """An attribute value with NumPy scalars turned into Python ones (for the text form)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return type(value)(_plain_attr(v) for v in value)
    return value


# ---- the public entry point ---------------------------------------------------------------------
def trace(model: Callable, example_inputs, *, dynamic_batch: bool = False, check_batch: int | None = None,
          rtol: float = 1e-4, atol: float = 1e-5) -> ScriptModule:
    """Record one run of `model` (an `eager.nn.Module` or a function of tensors) on `example_inputs`
    (a tensor or a tuple of them) as a `ScriptModule`.

    Python control flow is frozen, as in `torch.jit.trace`; each place where a traced value
    leaves the graph warns with a `TracerWarning` at the user's file:line. Sizes read with
    `x.shape` / `x.size(i)` are recorded as `prim::size`. With `dynamic_batch=True` dim 0 of every
    input is the symbol `N`, and the trace is checked against `model` at a second batch size
    (`check_batch`, default: the example batch + 1); a mismatch raises `TracingError`.
    """
    inputs = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"trace: example input {i} is a {type(x).__name__}; inputs must be tensors")
    if getattr(model, "training", False):
        warnings.warn(f"trace: {type(model).__name__} is in training mode, so dropout and batch norm are recorded "
                      "with their training behaviour; call model.eval() first to trace for inference",
                      TracerWarning, stacklevel=2)
    graph = _record(model, inputs)
    eliminate_dead_code(eliminate_common_subexpressions(graph))  # drop the sizes nobody used
    name = type(model).__name__ if hasattr(model, "named_parameters") else getattr(model, "__name__", "forward")
    module = ScriptModule(graph, name)
    if dynamic_batch:
        _make_batch_symbolic(graph)
        _check_at_batch(model, module, inputs, check_batch or inputs[0].shape[0] + 1, rtol, atol)
    return module


def _param_names(model) -> dict[int, str]:
    names = {}
    if hasattr(model, "named_parameters"):
        for name, p in model.named_parameters():
            names[id(p)] = name
        for name, b in model.named_buffers():
            names[id(b)] = name
    return names


def _record(model: Callable, inputs: tuple) -> Graph:
    tracer = Tracer(_param_names(model))
    params = _input_names(model, len(inputs))
    for x, name in zip(inputs, params):
        tracer.add_input(x, name)
    hooks = _name_submodule_outputs(model, tracer)
    TRACERS.append(tracer)
    try:
        with no_grad():
            result = model(*inputs)
    finally:
        TRACERS.remove(tracer)
        for handle in hooks:
            handle.remove()
    results = result if isinstance(result, tuple) else (result,)
    tracer.block.returns = [_output_value(tracer, r) for r in results]
    return tracer.graph


def _name_submodule_outputs(model, tracer: Tracer) -> list:
    """Forward hooks naming each submodule's output value after the submodule (`%fc1`,
    `%layer_self_attn`), so the traced graph reads like the model; the innermost module wins."""
    if not hasattr(model, "named_modules"):
        return []

    def hook(name: str):
        def name_output(module, args, out):
            entry = tracer.values.get(id(out)) if isinstance(out, Tensor) else None
            if entry is not None and entry[0] is out and entry[1].node is not None and entry[1].name is None:
                entry[1].name = name.replace(".", "_")

        return name_output

    return [m.register_forward_hook(hook(name)) for name, m in model.named_modules() if name]


def _output_value(tracer: Tracer, out) -> Value:
    if isinstance(out, Tensor) or out is None:
        return tracer.value_of(out)
    if isinstance(out, (tuple, list)):
        items = [_output_value(tracer, o) for o in out]
        if isinstance(out, list):
            return tracer.add("prim::list_construct", items, {}, [_list_type(items)]).output
        return tracer.add("prim::tuple_construct", items, {}, [TupleType(tuple(v.type for v in items))]).output
    if isinstance(out, (int, float)):
        return tracer.scalar_value(out)
    raise TypeError(f"trace: the model returned a {type(out).__name__}; expected tensors, tuples, lists or numbers")


def _input_names(model: Callable, count: int) -> list[str]:
    import inspect

    fn = model.forward if hasattr(model, "forward") and hasattr(model, "named_parameters") else model
    try:
        names = [p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    names = names[:count]
    return names + [f"input{i}" for i in range(len(names), count)]


def _make_batch_symbolic(graph: Graph) -> None:
    """Mark dim 0 of every input as `N` and re-derive all types from the registry's shape rules."""
    for v in graph.inputs:
        if isinstance(v.type, TensorType) and v.type.shape:
            v.type = TensorType(v.type.dtype, ("N",) + v.type.shape[1:])
    infer_shapes(graph)


def _check_at_batch(model: Callable, module: ScriptModule, inputs: tuple, batch: int, rtol: float,
                    atol: float) -> None:
    """Run eager and the trace at a second batch size and compare (raises TracingError)."""
    other = tuple(Tensor._wrap(x.data[np.arange(batch) % x.shape[0]]) for x in inputs)
    with no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)
        try:
            expected = model(*other)
        except Exception as exc:
            raise TracingError(f"trace(dynamic_batch=True): the model itself fails at batch size {batch} "
                               f"({exc}); trace it without dynamic_batch") from exc
        try:
            got = module(*other)
        except Exception as exc:
            raise TracingError(f"trace(dynamic_batch=True): the trace fails at batch size {batch}: {exc}") from exc
    _compare(expected, got, batch, rtol, atol)


def _compare(expected, got, batch: int, rtol: float, atol: float) -> None:
    if isinstance(expected, (tuple, list)):
        for e, g in zip(expected, got):
            _compare(e, g, batch, rtol, atol)
        return
    if isinstance(expected, Tensor):
        e, g = expected.numpy(), got.numpy()
        if e.shape != g.shape or not np.allclose(e, g, rtol=rtol, atol=atol):
            raise TracingError(
                f"trace(dynamic_batch=True): at batch size {batch} the trace gives shape {g.shape}, eager gives "
                f"{e.shape}" + ("" if e.shape != g.shape else " with different values")
                + "; the model uses a batch-dependent value the trace froze (see the TracerWarnings)")
    elif expected != got:
        raise TracingError(f"trace(dynamic_batch=True): at batch size {batch} the trace returns {got!r}, "
                           f"eager returns {expected!r}")

