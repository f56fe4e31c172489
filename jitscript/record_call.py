"""Lowering an eager function call by tracing one run of it on stand-in tensors.

When every tensor argument of a call such as `F.conv2d(x, w, b, 1, 1)` or `x.chunk(3, -1)` has a
known shape, the compiler runs the eager function itself on zero tensors of those shapes under
the tracer (`jitscript.tracer.Tracer`), writing into the block being compiled. The ops it applies
— with exactly the attributes eager computes (padding pairs, non-negative dims, split points) —
become IR nodes, and sizes it reads stay run-time `prim::size` values. Nothing is re-implemented
per function, so a wrapper's argument handling cannot drift from eager's.

A symbolic dim (the batch `N` of `script(..., dynamic_batch=True)`) gets the stand-in size
`STAND_IN_BATCH`; output types map that size back to the symbol.
"""
from __future__ import annotations

import warnings

from eager.autograd.grad_mode import no_grad
from eager.ops.dispatch import TRACERS
from eager.random import default_generator
from eager.tensor import Tensor

from .diagnostics import ScriptError
from .ir import Value
from .script_values import SV, Const, ListSV, TupleSV
from .tracer import TracedScalar, Tracer, TracerWarning
from .types import TensorType

STAND_IN_BATCH = 97  # an unusual size, so that a dim of this size in an output is the batch
SYMBOLS = {"N": STAND_IN_BATCH}
TRACE_HINT = "use trace for this function, or pass the value in as a tensor"


def recordable(args: list, kwargs: dict) -> bool:
    """Whether every argument is a constant or a tensor of known dtype and shape (ints or `N`),
    and one is a tensor."""
    values = [*args, *kwargs.values()]
    return all(_static(v) for v in values) and any(_is_tensor(v) for v in values)


def _static(sv) -> bool:
    if isinstance(sv, Const):
        return True
    if isinstance(sv, (TupleSV, ListSV)):
        return all(_static(i) for i in sv.items)
    if isinstance(sv, Value) and isinstance(sv.type, TensorType):
        shape = sv.type.shape
        return sv.type.dtype is not None and shape is not None and all(
            isinstance(d, int) or d in SYMBOLS for d in shape)
    return False


def _is_tensor(sv) -> bool:
    if isinstance(sv, (TupleSV, ListSV)):
        return any(_is_tensor(i) for i in sv.items)
    return isinstance(sv, Value) and isinstance(sv.type, TensorType)


def record_call(c, fn, args: list, kwargs: dict, where) -> SV:
    """The SV of `fn(*args, **kwargs)`, lowered by tracing one eager run (see module doc)."""
    tracer = Tracer()
    tracer.graph, tracer.block = c.s.graph, c.s.block
    tracer.constants = len(c.s.graph.params)  # `constN` names stay unique across calls
    stand_ins: list = []
    py_args = [_stand_in(a, tracer, stand_ins) for a in args]
    py_kwargs = {k: _stand_in(v, tracer, stand_ins) for k, v in kwargs.items()}
    first_new = len(c.s.block.nodes)
    name = getattr(fn, "__name__", "call")
    rng_state = default_generator.get_state()
    TRACERS.append(tracer)
    try:
        with warnings.catch_warnings(), no_grad():
            warnings.simplefilter("error", TracerWarning)
            result = fn(*py_args, **py_kwargs)
    except TracerWarning:
        raise ScriptError(f"{name} reads tensor data to decide what to compute", c.loc(where), TRACE_HINT) from None
    except (ValueError, TypeError, IndexError, RuntimeError) as exc:
        raise ScriptError(f"{name}: {str(exc).rsplit(' (at ', 1)[0]}", c.loc(where),
                          "check the shapes and arguments of this call") from None
    finally:
        TRACERS.remove(tracer)
    if default_generator.get_state() != rng_state:
        raise ScriptError(f"{name} draws random numbers, which script cannot record", c.loc(where),
                          "script the model in eval() mode, or pass the random tensor in")
    for tensor, value in stand_ins:
        if tracer.value_of(tensor) is not value or tensor._version[0] != 0:
            raise ScriptError(f"{name} modifies its tensor argument in place", c.loc(where),
                              "use the out-of-place form (e.g. inplace=False)")
    out = _result_sv(result, tracer)
    for node in c.s.block.nodes[first_new:]:
        node.loc = c.where(where)
        for v in node.outputs:
            v.type = _symbolic(v.type)
    return out


def _stand_in(sv, tracer: Tracer, stand_ins: list):
    """A Python value for `sv`: constants as they are, a zero tensor bound to a tensor value."""
    if isinstance(sv, Const):
        return sv.value
    if isinstance(sv, (TupleSV, ListSV)):
        items = [_stand_in(i, tracer, stand_ins) for i in sv.items]
        return tuple(items) if isinstance(sv, TupleSV) else items
    from eager.creation import zeros

    tensor = zeros(*(SYMBOLS.get(d, d) for d in sv.type.shape), dtype=sv.type.dtype)
    tracer.bind(tensor, sv)
    stand_ins.append((tensor, sv))
    return tensor


def _result_sv(result, tracer: Tracer) -> SV:
    if isinstance(result, Tensor):
        return tracer.value_of(result)
    if isinstance(result, TracedScalar):
        return result._ir_value
    if isinstance(result, (tuple, list)):
        items = tuple(_result_sv(r, tracer) for r in result)
        return TupleSV(items) if isinstance(result, tuple) else ListSV(items)
    return Const(result)


def _symbolic(t):
    if isinstance(t, TensorType) and t.shape is not None:
        inverse = {size: sym for sym, size in SYMBOLS.items()}
        return TensorType(t.dtype, tuple(inverse.get(d, d) for d in t.shape))
    return t
