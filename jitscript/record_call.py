"""Lowering an eager function call by running it once on stand-in tensors and recording its ops.

When every tensor argument of a call such as `F.conv2d(x, w, b, 1, 1)` or `x.chunk(3, -1)` has a
static shape, the compiler runs the eager function itself on zero tensors of those shapes
while a recorder sits on the dispatcher's tracer stack. The ops it applies, with exactly the
attributes eager computes (normalized padding pairs, non-negative dims, split points), become IR
nodes. Nothing is re-implemented per function, so a wrapper's argument handling can never
drift from eager's. Tensors the function creates itself (promoted scalars) become graph params.
"""
from __future__ import annotations

from eager.autograd.grad_mode import no_grad
from eager.ops.dispatch import TRACERS
from eager.tensor import Tensor

from .diagnostics import ScriptError
from .ir import Value
from .script_values import SV, Const, ListSV, TupleSV
from .tracer import _plain_attr, tensor_type
from .types import TensorType

TRACE_HINT = "use trace for this function, or pass the value in as a tensor"


class _ReadsDataError(Exception):
    """The function read tensor data (`item()`, `bool()`, `numpy()`): its ops depend on values."""


class _Recorder:
    """Sits on `TRACERS` while a call runs; keeps every applied op in order. Implements the
    dispatcher's tracer hooks (`record`, `size`, `alias`, `filled`, `escape`)."""

    def __init__(self) -> None:
        self.ops: list = []
        self.aliases: dict[int, object] = {}  # id(new tensor) -> the tensor it aliases
        self.filled_ids: set[int] = set()  # tensors made by zeros/ones/full: constants

    def record(self, op, inputs: tuple, attrs: dict, outputs: tuple) -> None:
        self.ops.append((op, inputs, attrs, outputs))

    def size(self, tensor, dim):
        return tensor.data.shape if dim is None else tensor.data.shape[dim]

    def alias(self, new, source) -> None:
        self.aliases[id(new)] = source

    def filled(self, tensor, fill, size) -> None:
        self.filled_ids.add(id(tensor))

    def scalar_tensor_of(self, tensor, value) -> None:
        return None

    def escape(self, tensor, what: str) -> None:
        raise _ReadsDataError(what)


def recordable(args: list, kwargs: dict) -> bool:
    """Whether every argument is a constant or a tensor of static dtype and shape, and one is a
    tensor."""
    values = [*args, *kwargs.values()]
    return all(_static(v) for v in values) and any(_is_tensor(v) for v in values)


def _is_tensor(sv) -> bool:
    if isinstance(sv, (TupleSV, ListSV)):
        return any(_is_tensor(i) for i in sv.items)
    return isinstance(sv, Value) and isinstance(sv.type, TensorType)


def _static(sv) -> bool:
    if isinstance(sv, Const):
        return True
    if isinstance(sv, (TupleSV, ListSV)):
        return all(_static(i) for i in sv.items)
    if isinstance(sv, Value) and isinstance(sv.type, TensorType):
        shape = sv.type.shape
        return sv.type.dtype is not None and shape is not None and all(isinstance(d, int) for d in shape)
    return False


def record_call(c, fn, args: list, kwargs: dict, where) -> SV:
    """The SV of `fn(*args, **kwargs)`, lowered by recording one eager run (see module doc)."""
    stand_ins: dict[int, Value] = {}
    py_args = [_stand_in(a, stand_ins) for a in args]
    py_kwargs = {k: _stand_in(v, stand_ins) for k, v in kwargs.items()}
    recorder = _Recorder()
    TRACERS.append(recorder)
    try:
        with no_grad():
            result = fn(*py_args, **py_kwargs)
    except _ReadsDataError as exc:
        raise ScriptError(f"{getattr(fn, '__name__', 'call')} reads tensor data ({exc}) to decide what to compute",
                          c.loc(where), TRACE_HINT) from None
    except (ValueError, TypeError, IndexError, RuntimeError) as exc:
        raise ScriptError(f"{getattr(fn, '__name__', 'call')}: {str(exc).rsplit(' (at ', 1)[0]}", c.loc(where),
                          "check the shapes and arguments of this call") from None
    finally:
        TRACERS.remove(recorder)
    values = dict(stand_ins)
    constants = recorder.filled_ids
    for op, inputs, attrs, outputs in recorder.ops:
        in_values = [_value_of(c, _resolve(t, recorder), values, where, constants) for t in inputs]
        node_attrs = {k: _plain_attr(v) for k, v in attrs.items()}
        node = c.s.add(op.name, in_values, node_attrs, [tensor_type(t) for t in outputs], c.where(where))
        for t, v in zip(outputs, node.outputs if op.num_outputs > 1 else [node]):
            values[id(t)] = v
    return _result_sv(c, result, values, where, recorder)


def _resolve(tensor, recorder: _Recorder):
    while tensor is not None and id(tensor) in recorder.aliases:
        tensor = recorder.aliases[id(tensor)]
    return tensor


def _stand_in(sv, stand_ins: dict):
    if isinstance(sv, Const):
        return sv.value
    if isinstance(sv, (TupleSV, ListSV)):
        items = [_stand_in(i, stand_ins) for i in sv.items]
        return tuple(items) if isinstance(sv, TupleSV) else items
    from eager.creation import zeros

    tensor = zeros(*sv.type.shape, dtype=sv.type.dtype)
    stand_ins[id(tensor)] = sv
    return tensor


def _value_of(c, tensor, values: dict, where, constants: set) -> Value:
    if tensor is None:
        return c.materialize(Const(None), where)
    value = values.get(id(tensor))
    if value is None:  # made inside the function (a promoted scalar, zeros(...)): a constant
        if tensor.ndim > 0 and id(tensor) not in constants:
            raise ScriptError("this call makes a tensor from data at compile time (random or data-dependent)",
                              c.loc(where), "script the module in eval() mode, or pass the tensor in")
        value = c.s.param(tensor, f"const.{len(c.s.graph.params)}", c.where(where))
        values[id(tensor)] = value
    return value


def _result_sv(c, result, values: dict, where, recorder: _Recorder) -> SV:
    if isinstance(result, Tensor):
        return _value_of(c, _resolve(result, recorder), values, where, recorder.filled_ids)
    if isinstance(result, (tuple, list)):
        items = tuple(_result_sv(c, r, values, where, recorder) for r in result)
        return TupleSV(items) if isinstance(result, tuple) else ListSV(items)
    return Const(result)
