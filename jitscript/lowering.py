"""Calls to eager ops in script, lowered to registry ops with their static types.

The registry is the op list: a call to `eager.<name>`, `F.<name>` or a tensor method
`x.<name>(...)` becomes the registry op of that name. Its arguments are bound with the
eager function's own signature; parameters named in the op's `attrs` become attributes
(constants, or run-time ints through `InputAttr`), the others operands. The few functions
whose Python wrapper reshapes its arguments (varargs shapes, dim lists, casts) have a rule
in `_SPECIAL`. Output types come from the op's `infer` rule; an `OpError` from it is a
compile-time type error at the call.
"""
from __future__ import annotations

import inspect

from eager import dtypes as _dt
from eager.errors import OpError
from eager.ops.elementwise import check_bitwise_dtypes
from eager.ops.registry import REGISTRY, Spec

from .diagnostics import ScriptError
from .ir import InputAttr, Value
from .record_call import record_call, recordable
from .script_values import SV, Const, ListSV, TupleSV, describe_type, type_of
from .types import BoolType, FloatType, IntType, NoneType, TensorType, TupleType

_BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "@": "matmul", "//": "floordiv",
           "&": "logical_and", "|": "logical_or", "^": "logical_xor",
           "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_PROMOTING = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
              "logical_and", "logical_or", "logical_xor", "matmul"}
_CASTS = {"float": _dt.float32, "double": _dt.float64, "long": _dt.int64, "int": _dt.int32, "bool": _dt.bool_}
_IDENTITY = ("contiguous", "detach", "clone")
_LEAVES_GRAPH = ("numpy", "tolist", "backward", "cpu", "cuda", "register_hook", "retain_grad")
_PLAIN = ("linear", "softmax", "log_softmax", "matmul")  # wrappers that pass arguments through


def is_eager_function(fn) -> bool:
    module = getattr(fn, "__module__", "") or ""
    return module == "eager" or module.startswith("eager.")


# ---- entry points -------------------------------------------------------------------------------
def _check_bitwise(c, op: str, operands: list, where) -> None:
    """`&`, `|`, `^`, `~` on tensors: bool only, as in eager (eager.ops.elementwise)."""
    scalar = {IntType: _dt.int64, FloatType: _dt.default_float, BoolType: _dt.bool_}
    dtypes = [_dtype(v) if isinstance(type_of(v), TensorType) else scalar.get(type(type_of(v))) for v in operands]
    try:
        check_bitwise_dtypes(op, dtypes)
    except TypeError as exc:
        raise c.error(str(exc), where) from None


def tensor_binary(c, op: str, a: SV, b: SV, where) -> SV:
    name = _BINARY.get(op)
    if name is None:
        raise c.error(f"the operator {op} is not supported on tensors in script", where)
    if op in "&|^":
        _check_bitwise(c, op, [a, b], where)
    if name == "floordiv":
        quotient = emit(c, "div", promote(c, [a, b], where), {}, where)
        floored = emit(c, "floor", [quotient], {}, where)
        dtype = _dtype(a) if isinstance(type_of(a), TensorType) else _dtype(b)
        return floored if dtype is None or dtype.is_floating_point else cast(c, floored, dtype, where)
    return elementwise(c, name, [a, b], where)


def tensor_unary(c, op: str, value: SV, where) -> SV:
    if op == "+":
        return value
    name = {"-": "neg", "~": "logical_not", "abs": "abs"}[op]
    if op == "~":
        _check_bitwise(c, op, [value], where)
    return emit(c, name, [value], {}, where)


def tensor_method(c, name: str, tensor: Value, args: list, kwargs: dict, where) -> SV:
    from eager.tensor import Tensor

    if name.endswith("_") and not name.startswith("_"):
        raise c.unsupported(f"the in-place method {name}()", where,
                            f"use the out-of-place form: x = x.{name[:-1]}(...)")
    if name in _LEAVES_GRAPH:
        raise c.unsupported(f"x.{name}()", where, "script computes on tensors; return the tensor instead")
    if name == "item" and not args and not kwargs:
        dtype = _dtype(tensor)
        kind = FloatType() if dtype is None or dtype.is_floating_point else (
            BoolType() if dtype is _dt.bool_ else IntType())
        return c.s.add("prim::item", [tensor], None, [kind], c.where(where))
    if name in _SPECIAL:
        return _SPECIAL[name](c, tensor, args, kwargs, where)
    if name in _CASTS and not args and not kwargs:
        return cast(c, tensor, _CASTS[name], where)
    if name in _IDENTITY and not args and not kwargs:
        return tensor
    fn = getattr(Tensor, name, None)
    if fn is None or not callable(fn):
        raise c.error(f"Tensor has no method {name!r}", where)
    out = eager_function(c, fn, [tensor, *args], kwargs, where, name)
    return out if out is not None else c.inline(fn, None, [tensor, *args], kwargs, where)


def eager_function(c, fn, args: list, kwargs: dict, where, name: str | None = None) -> SV | None:
    """A call of an eager function as registry ops, or None when it is a composite to compile
    from its source. In order: a rule of `_SPECIAL` (exact for any shapes); recording one eager
    run when every tensor argument has a static shape (exact, see record_call.py); binding the
    registry op's own arguments, for ops whose wrapper passes arguments through unchanged."""
    name = name or fn.__name__
    if getattr(fn, "__module__", "") == "eager.random":
        raise c.unsupported(f"drawing random numbers (eager.{name})", where, "pass the random tensor in as an argument")
    if name in _SPECIAL:
        return _SPECIAL[name](c, args[0], args[1:], kwargs, where)
    if recordable(args, kwargs):
        return record_call(c, fn, args, kwargs, where)
    op = REGISTRY.get(name)
    if op is None:
        return None
    if not (op.elementwise or name in _PLAIN):
        raise c.error(f"{name}() needs the shapes of its tensor arguments at compile time", where,
                      "pass example_inputs to jitscript.script")
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise c.error(f"{name}(): {exc}", where) from None
    operands, attrs = [], {}
    params = inspect.signature(fn).parameters
    for pname, param in params.items():
        default = param.default
        if pname not in bound.arguments:
            if pname in op.attrs and default is not inspect.Parameter.empty:
                attrs[pname] = default
            elif pname not in op.attrs and default is None and not operands_done(op, operands):
                operands.append(None)  # an absent optional operand (linear's bias)
            continue
        value = bound.arguments[pname]
        if pname in op.attrs:
            attrs[pname] = attribute(c, value, pname, name, where)
        elif isinstance(type_of(value), (TensorType, NoneType)) or value is None:
            operands.append(value)
        elif pname in ("input", "other", "self") or not operands:
            operands.append(value)
        elif not (isinstance(value, Const) and value.value == default):
            raise c.error(f"{name}(): argument {pname!r} is not supported in script", where)
    if name in _PROMOTING:
        operands = promote(c, operands, where)
    return emit(c, name, operands, attrs, where)


def operands_done(op, operands: list) -> bool:
    """Whether an op already has all its operands (its forward's positional array params)."""
    arrays = [p for p in inspect.signature(op.forward).parameters.values()
              if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in op.attrs][1:]
    return len(operands) >= len(arrays)


def elementwise(c, name: str, operands: list, where) -> SV:
    return emit(c, name, promote(c, operands, where), {}, where)


def tensor_attr(c, tensor: Value, attr: str, where) -> SV:
    from eager.tensor import Tensor

    rank = tensor.type.rank
    if attr == "shape":
        return TupleSV(tuple(size(c, tensor, i, where) for i in range(_need_rank(c, tensor, where, "x.shape"))))
    if attr == "ndim":
        return Const(_need_rank(c, tensor, where, "x.ndim"))
    if attr == "dtype":
        if tensor.type.dtype is None:
            raise c.error("the dtype of this tensor is not known at compile time", where)
        return Const(tensor.type.dtype)
    if attr == "device":  # creation ops in script make tensors on the default device
        from eager.backend import device

        return Const(device("cpu"))
    if attr == "T":
        return permute_dims(c, tensor, tuple(reversed(range(_need_rank(c, tensor, where, "x.T")))), where)
    if attr == "mT":
        return transpose(c, tensor, [Const(-2), Const(-1)], {}, where)
    if callable(getattr(Tensor, attr, None)):
        from .script_values import Callee

        return Callee(None, bound=tensor, name=attr)
    raise c.error(f"Tensor has no attribute {attr!r} in script" + ("" if rank is None else ""), where)


def size(c, tensor: Value, dim: int, where) -> SV:
    """tensor.size(dim): a constant when the shape is known, else prim::size."""
    shape = tensor.type.shape
    if shape is not None and -len(shape) <= dim < len(shape) and isinstance(shape[dim], int):
        return Const(shape[dim])
    dim_value = c.materialize(Const(dim), where)
    return c.s.add("prim::size", [tensor, dim_value], None, [IntType()], c.where(where))


def tensor_getitem(c, tensor: Value, index_tree, where) -> SV:
    """x[i], x[a:b], x[:, 0], x[None]: the registry's `getitem` op with an `items` attribute."""
    if "getitem" not in REGISTRY:
        raise c.unsupported("tensor indexing", where, "this build has no getitem op")
    terms = index_tree.children if index_tree.data == "subscript_tuple" else [index_tree]
    items, runtime = [], False
    for term in terms:
        if term is None:
            continue
        if isinstance(term, type(index_tree)) and term.data == "slice":
            parts = [None if p is None else c.expr(p) for p in term.children]
            item = ("slice", *parts)
        else:
            value = c.expr(term)
            if isinstance(value, Const) and value.value is None:
                item = ("newaxis",)
            elif isinstance(type_of(value), (IntType, BoolType)):
                item = ("select", value)
            else:
                raise c.unsupported(f"indexing a tensor with {describe_type(type_of(value))}", term,
                                    "index with ints and slices (use eager.index_select for tensors)")
        runtime = runtime or any(isinstance(p, Value) for p in item[1:])
        items.append(item)
    while items and items[-1] == ("slice", None, None, None):
        items.pop()
    if not runtime:
        return emit(c, "getitem", [tensor], {"items": tuple((i[0], *(_const(p) for p in i[1:])) for i in items)},
                    where)
    if "index" in REGISTRY and all(i[0] == "select" or not any(isinstance(p, Value) for p in i[1:]) for i in items):
        return _runtime_select(c, tensor, items, where)
    parts = []
    for item in items:
        elems = [Const(item[0]), *item[1:]]
        parts.append(TupleSV(tuple(Const(None) if e is None else e for e in elems)))
    out = emit(c, "getitem", [tensor], {"items": TupleSV(tuple(parts))}, where)
    out.type = _runtime_index_type(tensor.type, items)
    return out


def _runtime_select(c, tensor: Value, items: list, where) -> Value:
    """x[:, t] with a run-time int t: the `index` op with t as a 0-d int64 index tensor (a 0-d
    index drops its dim, as an int does), so the attributes stay constants."""
    static_items, index_tensors = [], []
    for item in items:
        if item[0] == "select" and isinstance(item[1], Value):
            static_items.append(("tensor",))
            index_tensors.append(scalar_tensor(c, item[1], _dt.int64, where))
        else:
            static_items.append((item[0], *(_const(p) for p in item[1:])))
    out = emit(c, "index", [tensor, *index_tensors], {"items": tuple(static_items)}, where)
    out.type = _runtime_index_type(tensor.type, items)
    return out


def _runtime_index_type(t: TensorType, items: list) -> TensorType:
    """The type of x[key] with run-time ints in the key: a select drops its dim whatever the
    index, a slice with run-time bounds keeps its dim with an unknown size."""
    if t.shape is None:
        return TensorType(t.dtype, None)
    shape, dim = [], 0
    for item in items:
        if item[0] == "newaxis":
            shape.append(1)
            continue
        if item[0] == "slice":
            size = t.shape[dim]
            static = all(not isinstance(p, Value) for p in item[1:])
            shape.append(len(range(*slice(*(_const(p) for p in item[1:])).indices(size)))
                         if static and isinstance(size, int) else "?")
        dim += 1
    return TensorType(t.dtype, tuple(shape) + tuple(t.shape[dim:]))


# ---- emission -----------------------------------------------------------------------------------
def emit(c, name: str, operands: list, attrs: dict, where) -> SV:
    """One registry op node; run-time attributes become extra inputs (`InputAttr`)."""
    op = REGISTRY[name]
    inputs = [c.materialize(Const(None) if v is None else _as_tensor(c, v, where), where) for v in operands]
    final_attrs, static = {}, True
    for key, value in attrs.items():
        if isinstance(value, (Value, TupleSV, ListSV)) and not _is_const_tree(value):
            final_attrs[key] = InputAttr(len(inputs))
            inputs.append(c.materialize(value, where))
            static = False
        else:
            final_attrs[key] = _const(value)
    if static:
        out_type = infer(c, op, inputs, final_attrs, where)
    else:
        out_type = infer(c, op, inputs[:len(operands)], _probe_attrs(attrs, final_attrs), where, strict=False)
    outs = out_type if isinstance(out_type, tuple) else (out_type,)
    node = c.s.add(name, inputs, final_attrs, list(outs), c.where(where))
    if op.num_outputs > 1:
        return TupleSV(tuple(node.outputs))
    return node


def infer(c, op, inputs: list, attrs: dict, where, strict: bool = True):
    """The output type(s) from the op's `infer` rule over the operands `inputs`; unknown shapes
    give unknown-rank tensors. A shape error is a compile-time error when `strict`."""
    tensors = [v.type for v in inputs if isinstance(v.type, TensorType)]
    known = all(t.shape is not None and t.dtype is not None for t in tensors)
    specs = [Spec(v.type.dtype, v.type.shape) if isinstance(v.type, TensorType) else None for v in inputs]
    if known:
        try:
            return _to_types(op.infer(*specs, **attrs))
        except OpError as exc:
            if not strict:
                return _unknown(op, specs, attrs)
            raise ScriptError(f"{exc.op}: {str(exc).split(': ', 1)[-1].rsplit(' (at ', 1)[0]}", c.loc(where),
                              "check the shapes of the operands") from None
        except (TypeError, ValueError, IndexError, KeyError):
            pass
    return _unknown(op, specs, attrs)


def _unknown(op, specs, attrs):
    dtype = _probe_dtype(op, specs, attrs)
    if op.num_outputs > 1:
        return tuple(TensorType(dtype, None) for _ in range(op.num_outputs))
    return TensorType(dtype, None)


def _probe_attrs(attrs: dict, final: dict) -> dict:
    """Attributes for the shape rule when some are run-time ints: each such int becomes the
    symbol of the dim it was read from (`N` for `x.size(0)` of a batch-`N` tensor) or "?"."""
    return {k: _probe(v) if isinstance(final[k], InputAttr) else final[k] for k, v in attrs.items()}


def _probe(v):
    if isinstance(v, (TupleSV, ListSV)):
        return tuple(_probe(i) for i in v.items)
    if isinstance(v, Const):
        return v.value
    node = getattr(v, "node", None)
    if node is not None and node.op == "prim::size" and node.inputs[1].node is not None:
        shape, dim = node.inputs[0].type.shape, node.inputs[1].node.attrs.get("value")
        if shape is not None and isinstance(dim, int) and -len(shape) <= dim < len(shape):
            return shape[dim]
    return "?"


def _probe_dtype(op, specs, attrs):
    """The output dtype, found by running the rule on rank-0 shapes (or the first operand's)."""
    dtypes = [s.dtype for s in specs if s is not None]
    if any(d is None for d in dtypes):
        return None
    try:
        probe = [Spec(s.dtype, ()) if s is not None else None for s in specs]
        result = op.infer(*probe, **{k: v for k, v in (attrs or {}).items() if not isinstance(v, InputAttr)})
        result = result[0] if isinstance(result, tuple) and result and isinstance(result[0], Spec) else result
        return result.dtype
    except Exception:  # noqa: BLE001 - the rule needs real shapes; fall back to the operand's dtype
        return dtypes[0] if dtypes else None


def _to_types(result):
    if isinstance(result, Spec):
        return TensorType(result.dtype, tuple(result.shape))
    return tuple(TensorType(s.dtype, tuple(s.shape)) for s in result)


def promote(c, operands: list, where) -> list:
    """Operands cast to one dtype with PyTorch's rules (Python scalars are weak)."""
    tensor_dtypes = [_dtype(v) for v in operands if isinstance(type_of(v), TensorType)]
    scalars = [_sample(v) for v in operands if v is not None and not isinstance(type_of(v), (TensorType, NoneType))]
    if any(d is None for d in tensor_dtypes):
        return [_as_tensor(c, v, where) if v is not None else None for v in operands]
    if not tensor_dtypes:
        tensor_dtypes = [_dt.promote([_dt.bool_], scalars[:1])]
    result = _dt.promote(tensor_dtypes, scalars)
    out = []
    for v in operands:
        if v is None:
            out.append(None)
        elif isinstance(type_of(v), TensorType):
            out.append(v if _dtype(v) is result else cast(c, v, result, where))
        else:
            out.append(scalar_tensor(c, v, result, where))
    return out


def _as_tensor(c, v: SV, where) -> SV:
    t = type_of(v)
    if isinstance(t, (TensorType, NoneType)) or t is None:
        return v
    if isinstance(t, (IntType, FloatType, BoolType)):
        return scalar_tensor(c, v, _dt.promote([_dt.bool_], [_sample(v)]), where)
    raise c.error(f"expected a tensor, got {describe_type(t)}", where)


def scalar_tensor(c, v: SV, dtype, where) -> Value:
    value = c.materialize(v, where)
    return c.s.add("prim::scalar_tensor", [value], {"dtype": dtype}, [TensorType(dtype, ())], c.where(where))


def cast(c, v: Value, dtype, where) -> Value:
    if _dtype(v) is dtype:
        return v
    return emit(c, "cast", [v], {"dtype": dtype}, where)


def _dtype(v: SV):
    t = type_of(v)
    return t.dtype if isinstance(t, TensorType) else None


def _sample(v: SV):
    if isinstance(v, Const):
        return v.value
    return {IntType: 1, FloatType: 1.0, BoolType: True}.get(type(type_of(v)), 1.0)


def attribute(c, value, pname: str, op: str, where):
    """An op attribute: a Python constant, or a run-time int value (InputAttr)."""
    if isinstance(value, Const):
        return value.value
    if value is None:
        return None
    if isinstance(value, (TupleSV, ListSV)):
        return value if not _is_const_tree(value) else _const(value)
    if isinstance(value, Value) and isinstance(value.type, (IntType, FloatType, BoolType, TupleType)):
        return value
    raise c.error(f"{op}(): argument {pname!r} must be a constant or an int, got {describe_type(type_of(value))}",
                  where)


def _is_const_tree(v) -> bool:
    if isinstance(v, Const):
        return True
    if isinstance(v, (TupleSV, ListSV)):
        return all(_is_const_tree(i) for i in v.items)
    return False


def _const(v):
    if isinstance(v, Const):
        return v.value
    if isinstance(v, TupleSV):
        return tuple(_const(i) for i in v.items)
    if isinstance(v, ListSV):
        return tuple(_const(i) for i in v.items)
    return v


def _need_rank(c, tensor: Value, where, what: str) -> int:
    if tensor.type.rank is None:
        raise c.error(f"{what} needs the tensor's rank, which is not known at compile time", where,
                      "pass example_inputs to jitscript.script, or use x.size(i)")
    return tensor.type.rank


def _int_list(c, args: list, where, what: str) -> SV:
    """Varargs or one sequence of ints (shapes, dims) as a TupleSV."""
    if len(args) == 1 and isinstance(args[0], (TupleSV, ListSV)):
        args = list(args[0].items)
    elif len(args) == 1 and isinstance(type_of(args[0]), TupleType):
        args = c.unpack(args[0], len(type_of(args[0]).elems), where)
    for a in args:
        if not isinstance(type_of(a), IntType):
            raise c.error(f"{what} takes ints, got {describe_type(type_of(a))}", where)
    return TupleSV(tuple(args))


# ---- functions whose Python wrapper reshapes its arguments ----------------------------------------
def _reduction(name):
    def rule(c, x, args, kwargs, where):
        dim = kwargs.pop("dim", args[0] if args else Const(None))
        keepdim = kwargs.pop("keepdim", args[1] if len(args) > 1 else Const(False))
        dtype = kwargs.pop("dtype", Const(None))
        if kwargs:
            raise c.error(f"{name}() got unexpected arguments {sorted(kwargs)}", where)
        if dtype.value is not None:
            x = cast(c, x, _dt.to_dtype(dtype.value), where)
        if isinstance(dim, Const) and dim.value is None:
            rank = x.type.rank
            dims = tuple(range(rank)) if rank is not None else None
        else:
            dims = _const(dim) if _is_const_tree(dim) else None
            if dims is None:
                raise c.error(f"{name}(): dim must be a constant", where)
            dims = (dims,) if isinstance(dims, int) else tuple(dims)
            if x.type.rank is not None:
                dims = tuple(sorted(d % max(x.type.rank, 1) for d in dims))
        if name == "mean" and _dtype(x) is not None and not _dtype(x).is_floating_point:
            raise c.error(f"mean needs a floating point input, got {_dtype(x).name}", where, "use x.float() first")
        out = emit(c, name, [x], {"dim": dims, "keepdim": bool(_const(keepdim))}, where)
        if dims is None and not _const(keepdim):  # a full reduction is 0-d whatever the rank
            out.type = TensorType(out.type.dtype, ())
        return out

    return rule


def reshape(c, x, args, kwargs, where):
    shape = _int_list(c, args or [kwargs.pop("shape")], where, "reshape")
    if _is_const_tree(shape) and x.type.shape is not None:
        from eager.ops.shape import infer_reshape

        try:
            return emit(c, "reshape", [x], {"shape": infer_reshape("reshape", x.type.shape, _const(shape))}, where)
        except OpError as exc:
            raise ScriptError(str(exc).rsplit(" (at ", 1)[0], c.loc(where)) from None
    return emit(c, "reshape", [x], {"shape": shape}, where)


def flatten(c, x, args, kwargs, where):
    start = _const(kwargs.pop("start_dim", args[0] if args else Const(0)))
    end = _const(kwargs.pop("end_dim", args[1] if len(args) > 1 else Const(-1)))
    if end != -1 or start < 0:
        rank = _need_rank(c, x, where, "flatten with these dims")
        start, end = start % rank, end % rank
        sizes = [size(c, x, i, where) for i in range(rank)]
        return reshape(c, x, [TupleSV(tuple(sizes[:start]) + (Const(-1),) + tuple(sizes[end + 1:]))], {}, where)
    leading = [size(c, x, i, where) for i in range(start)]
    return reshape(c, x, [TupleSV(tuple(leading) + (Const(-1),))], {}, where)


def permute_dims(c, x, dims: tuple, where):
    return emit(c, "permute", [x], {"dims": tuple(dims)}, where)


def permute(c, x, args, kwargs, where):
    dims = _const(_int_list(c, args or [kwargs.pop("dims")], where, "permute"))
    rank = x.type.rank
    if rank is not None:
        dims = tuple(d % rank for d in dims)
    elif any(d < 0 for d in dims):
        _need_rank(c, x, where, "permute with negative dims")
    return permute_dims(c, x, dims, where)


def transpose(c, x, args, kwargs, where):
    d0, d1 = (_const(a) for a in args[:2])
    rank = _need_rank(c, x, where, "transpose") if (d0 < 0 or d1 < 0 or x.type.rank is None) else x.type.rank
    dims = list(range(rank))
    dims[d0 % rank], dims[d1 % rank] = dims[d1 % rank], dims[d0 % rank]
    return permute_dims(c, x, tuple(dims), where)


def t(c, x, args, kwargs, where):
    rank = _need_rank(c, x, where, "t()")
    return x if rank < 2 else permute_dims(c, x, (1, 0), where)


def expand(c, x, args, kwargs, where):
    shape = _const(_int_list(c, args, where, "expand"))
    if x.type.shape is None and -1 in shape:
        _need_rank(c, x, where, "expand with -1")
    if x.type.shape is not None:
        lead = len(shape) - len(x.type.shape)
        shape = tuple(x.type.shape[i - lead] if d == -1 else d for i, d in enumerate(shape))
    return emit(c, "expand", [x], {"shape": shape}, where)


def size_method(c, x, args, kwargs, where):
    if not args:
        return tensor_attr(c, x, "shape", where)
    dim = _const(args[0])
    if not isinstance(dim, int):
        raise c.error("size(dim): dim must be an int constant", where)
    return size(c, x, dim, where)


def to(c, x, args, kwargs, where):
    target = _const(kwargs.get("dtype", args[0] if args else Const(None)))
    if isinstance(target, _dt.DType):
        return cast(c, x, target, where)
    if isinstance(target, str) and target in ("cpu", "cuda"):
        return x
    raise c.unsupported(f"to({target!r})", where, "use to(dtype)")


def dim_method(c, x, args, kwargs, where):
    return Const(_need_rank(c, x, where, "x.dim()"))


def binary_with_alpha(name):
    def rule(c, a, args, kwargs, where):
        other = args[0] if args else kwargs.pop("other")
        alpha = kwargs.pop("alpha", Const(1))
        if not (isinstance(alpha, Const) and alpha.value == 1):
            other = elementwise(c, "mul", [other, alpha], where)
        return elementwise(c, name, [a, other], where)

    return rule


def div(c, a, args, kwargs, where):
    other = args[0] if args else kwargs.pop("other")
    mode = _const(kwargs.pop("rounding_mode", Const(None)))
    if mode is None:
        return elementwise(c, "div", [a, other], where)
    if mode not in ("floor", "trunc"):
        raise c.error(f"div(): rounding_mode must be 'floor' or 'trunc', got {mode!r}", where)
    out = emit(c, mode, [elementwise(c, "div", [a, other], where)], {}, where)
    return out if _dtype(a) is None or _dtype(a).is_floating_point else cast(c, out, _dtype(a), where)


def where_rule(c, cond, args, kwargs, where):
    a, b = promote(c, list(args[:2]), where)
    return emit(c, "where", [_as_tensor(c, cond, where), a, b], {}, where)


def matmul_rule(c, a, args, kwargs, where):
    return elementwise(c, "matmul", [a, args[0]], where)


def chunk(c, x, args, kwargs, where):
    """x.chunk(n, dim): slices of equal size (the last may be smaller); needs the dim's size."""
    chunks = _const(args[0] if args else kwargs.pop("chunks"))
    dim = _const(args[1] if len(args) > 1 else kwargs.pop("dim", Const(0)))
    rank = _need_rank(c, x, where, "chunk")
    dim %= rank
    total = x.type.shape[dim]
    if not isinstance(total, int):
        raise c.error("chunk needs the size of the split dim at compile time", where,
                      "pass example_inputs to jitscript.script")
    step = max(-(-total // chunks), 1)
    full = ("slice", None, None, None)
    return TupleSV(tuple(emit(c, "getitem", [x], {"items": (full,) * dim + (("slice", s, min(s + step, total), None),)},
                              where) for s in range(0, total, step)))


def _filled(fill):
    """zeros / ones / full(size, value): a 0-d tensor expanded to the (possibly run-time) shape."""
    def rule(c, first, args, kwargs, where):
        if fill is None:
            sizes, value = [first], args[0] if args else kwargs.pop("fill_value")
        else:
            sizes, value = [first, *args], Const(fill)
        return _filled_tensor(c, _int_list(c, sizes, where, "a size"), value, kwargs, where)

    return rule


def _filled_like(fill):
    """zeros_like / ones_like / full_like(x, value): needs x's rank."""
    def rule(c, x, args, kwargs, where):
        value = Const(fill) if fill is not None else (args[0] if args else kwargs.pop("fill_value"))
        kwargs.setdefault("dtype", Const(_dtype(x)))
        return _filled_tensor(c, tensor_attr(c, x, "shape", where), value, kwargs, where)

    return rule


def _filled_tensor(c, shape: TupleSV, value: SV, kwargs: dict, where):
    dtype = _const(kwargs.pop("dtype", Const(None)))
    kwargs.pop("device", None)
    kwargs.pop("requires_grad", None)
    if kwargs:
        raise c.error(f"unexpected arguments {sorted(kwargs)}", where)
    dtype = _dt.to_dtype(dtype) if dtype is not None else _dt.promote([_dt.bool_], [_sample(value)])
    if isinstance(value, Const) and isinstance(value.value, (int, bool)) and dtype.is_floating_point:
        value = Const(float(value.value))
    return emit(c, "expand", [scalar_tensor(c, value, dtype, where)], {"shape": shape}, where)


def dropout(c, x, args, kwargs, where):
    """F.dropout: the identity when not training; random masks have no script form."""
    names = ("p", "training", "inplace")
    values = dict(zip(names, args), **kwargs)
    p, training = _const(values.get("p", Const(0.5))), _const(values.get("training", Const(True)))
    if training is False or p == 0.0:
        return x
    raise c.unsupported("dropout in training mode", where, "script the model in eval() mode")


def cast_rule(c, x, args, kwargs, where):
    dtype = _const(args[0] if args else kwargs.pop("dtype"))
    return cast(c, x, _dt.to_dtype(dtype), where)


_SPECIAL = {
    "sum": _reduction("sum"), "mean": _reduction("mean"),
    "reshape": reshape, "view": reshape, "flatten": flatten, "permute": permute, "transpose": transpose,
    "t": t, "expand": expand, "size": size_method, "to": to, "type": cast_rule, "cast": cast_rule,
    "dim": dim_method, "add": binary_with_alpha("add"), "sub": binary_with_alpha("sub"), "div": div,
    "where": where_rule, "matmul": matmul_rule, "mm": matmul_rule, "bmm": matmul_rule, "chunk": chunk,
    "dropout": dropout, "zeros": _filled(0.0), "ones": _filled(1.0), "full": _filled(None),
    "zeros_like": _filled_like(0.0), "ones_like": _filled_like(1.0), "full_like": _filled_like(None),
}
