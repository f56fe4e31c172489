"""`jitscript.script`: compile a module's `forward` (or a function) from its Python source.

The result is a `ScriptModule` over the same typed IR the tracer produces, with `if`,
`for` and `while` kept as `prim::if` / `prim::loop`. See docs/script.md for the language.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

from eager import dtypes as _dt

from .compiler import FunctionCompiler, Session
from .diagnostics import ScriptError
from .frontend import parse_function
from .ir import Value
from .module import ScriptModule
from .script_values import ModuleRef, TupleSV
from .types import ListType, OptionalType, TensorType, TupleType
from .verify import verify

DEFAULT_TENSOR = TensorType(_dt.float32, None)


def script(obj, example_inputs: tuple | None = None, *, dynamic_batch: bool = False) -> ScriptModule:
    """Compile `obj` (an `eager.nn.Module`, or a function; also usable as `@jitscript.script`).

    A parameter annotated `Tensor` (or not annotated) is a float32 tensor of unknown shape;
    `example_inputs` fixes the dtype and shape of tensor parameters instead (which lets the
    compiler check shapes and resolve negative dims); parameters after them keep their default
    values as compile-time constants (e.g. `mask=None` folds away). With `dynamic_batch=True`,
    dim 0 of every example tensor is the symbol `N`: sizes read from it stay run-time values, so
    the graph runs at any batch size (as `jitscript.trace(..., dynamic_batch=True)`). Raises `ScriptError` for anything
    outside the script language, before anything runs.
    """
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        fn, bound, name = obj, None, obj.__name__
    elif hasattr(type(obj), "forward") and hasattr(obj, "_modules"):
        fn, bound, name = type(obj).forward, ModuleRef(obj, ""), type(obj).__name__
    else:
        raise TypeError(f"jitscript.script expects a module or a function, got {type(obj).__name__}")
    graph = compile_graph(fn, bound, example_inputs, dynamic_batch)
    module = ScriptModule(graph, name=name, source=inspect.getsource(fn))
    module.python_fn = fn  # lets other scripts call a @jitscript.script function inline
    return module


def compile_graph(fn: Callable, bound: ModuleRef | None, example_inputs: tuple | None, dynamic_batch: bool = False):
    """The verified graph of `fn` (with `bound` as its self argument, when a method)."""
    session = Session()
    tree, source_map = parse_function(fn)
    compiler = FunctionCompiler(session, fn, tree, source_map)
    params = compiler.signature()
    if bound is not None:
        compiler.env[params[0][0]] = bound
        params = params[1:]
    if example_inputs is not None and len(example_inputs) < len(params):
        compiler.bind_arguments(params[len(example_inputs):], [], {}, source_map.loc_of(tree))
        params = params[:len(example_inputs)]
    tensor_types = _example_types(params, example_inputs, dynamic_batch)
    for (name, declared, _), example in zip(params, tensor_types):
        ptype = example or _with_default_dtype(declared)
        compiler.env[name] = session.graph.block.add_param(ptype, name)
    session.call_stack.append(fn)
    result = compiler.compile_body()
    items = list(result.items) if isinstance(result, TupleSV) else [result]
    outputs = []
    for item in items:
        outputs.append(compiler.materialize(item, compiler.tree))
    session.graph.block.returns = outputs
    if isinstance(result, Value) and isinstance(result.type, TupleType):
        session.graph.block.returns = [result]
    return verify(session.graph)


def _with_default_dtype(t):
    """`t` with every tensor of unknown dtype made float32 (the default dtype)."""
    if isinstance(t, TensorType):
        return DEFAULT_TENSOR if t.dtype is None and t.shape is None else t
    if isinstance(t, (OptionalType, ListType)):
        return type(t)(_with_default_dtype(t.elem))
    if isinstance(t, TupleType):
        return TupleType(tuple(_with_default_dtype(e) for e in t.elems))
    return t


def _example_types(params: list, example_inputs: tuple | None, dynamic_batch: bool) -> list:
    if example_inputs is None:
        return [None] * len(params)
    if len(example_inputs) != len(params):
        raise ScriptError(f"example_inputs has {len(example_inputs)} value(s) for {len(params)} parameter(s)")
    out = []
    for (_name, declared, _), example in zip(params, example_inputs):
        if isinstance(declared, TensorType) and hasattr(example, "shape") and hasattr(example, "dtype"):
            shape = tuple(example.shape)
            out.append(TensorType(example.dtype, ("N",) + shape[1:] if dynamic_batch and shape else shape))
        else:
            out.append(None)
    return out


__all__ = ["compile_graph", "script"]
