"""IR types and node attributes <-> their FlatBuffers tables (both directions side by side)."""
from __future__ import annotations

import flatbuffers

from eager.dtypes import DType
from export.fb import Attr as FbAttr
from export.fb import ValueType as FbValueType
from export.fb.AttrKind import AttrKind
from export.fb.TypeKind import TypeKind
from export.format import dtype_code, dtype_from_code
from jitscript import types as T
from jitscript.ir import InputAttr

_SCALAR_KINDS = {T.IntType: TypeKind.INT, T.FloatType: TypeKind.FLOAT, T.BoolType: TypeKind.BOOL,
                 T.StrType: TypeKind.STR, T.NoneType: TypeKind.NONE}
_SCALARS_BY_KIND = {kind: cls for cls, kind in _SCALAR_KINDS.items()}
_CONTAINER_KINDS = {T.ListType: TypeKind.LIST, T.TupleType: TypeKind.TUPLE, T.OptionalType: TypeKind.OPTIONAL}
UNKNOWN_DIM = "?"  # the IR's name for a dim it does not know


class UnsupportedValueError(ValueError):
    """An IR type or attribute value that the format cannot store."""


# ---- types ---------------------------------------------------------------------------------------
def _vector(builder: flatbuffers.Builder, start, items: list[int], prepend) -> int:
    start(builder, len(items))
    for item in reversed(items):
        prepend(item)
    return builder.EndVector()


def int_vector(builder: flatbuffers.Builder, start, items) -> int:
    """A vector of int32 (value indices) built with the generated `Start...Vector` function."""
    return _vector(builder, start, list(items), builder.PrependInt32)


def long_vector(builder: flatbuffers.Builder, start, items) -> int:
    """A vector of int64 built with the generated `Start...Vector` function."""
    return _vector(builder, start, list(items), builder.PrependInt64)


def offset_vector(builder: flatbuffers.Builder, start, offsets: list[int]) -> int:
    """A vector of tables or strings (already built, given by their offsets)."""
    return _vector(builder, start, offsets, builder.PrependUOffsetTRelative)


def _type_elements(t: T.IRType) -> list[T.IRType]:
    if isinstance(t, T.TupleType):
        return list(t.elems)
    return [t.elem]


def encode_type(builder: flatbuffers.Builder, t: T.IRType) -> int:
    """Build the ValueType table of `t`; return its offset."""
    if isinstance(t, T.TensorType):
        return _encode_tensor_type(builder, t)
    kind = _SCALAR_KINDS.get(type(t))
    elements = None
    if kind is None:
        kind = _CONTAINER_KINDS.get(type(t))
        if kind is None:
            raise UnsupportedValueError(f"IR type {t} has no .esm encoding")
        items = [encode_type(builder, e) for e in _type_elements(t)]
        elements = offset_vector(builder, FbValueType.StartElementsVector, items)
    FbValueType.Start(builder)
    FbValueType.AddKind(builder, kind)
    if elements is not None:
        FbValueType.AddElements(builder, elements)
    return FbValueType.End(builder)


def _encode_tensor_type(builder: flatbuffers.Builder, t: T.TensorType) -> int:
    shape = dim_names = None
    if t.shape is not None:
        names = [builder.CreateString(d if isinstance(d, str) else "") for d in t.shape]
        dim_names = offset_vector(builder, FbValueType.StartDimNamesVector, names)
        shape = long_vector(builder, FbValueType.StartShapeVector, [-1 if isinstance(d, str) else d for d in t.shape])
    FbValueType.Start(builder)
    FbValueType.AddKind(builder, TypeKind.TENSOR)
    if t.dtype is None:
        FbValueType.AddDtypeKnown(builder, False)
    else:
        FbValueType.AddDtype(builder, dtype_code(t.dtype))
    if shape is not None:
        FbValueType.AddRank(builder, len(t.shape))
        FbValueType.AddShape(builder, shape)
        FbValueType.AddDimNames(builder, dim_names)
    return FbValueType.End(builder)


def decode_type(fb: FbValueType.ValueType) -> T.IRType:
    """The IR type of a ValueType table (KeyError/IndexError on a malformed table)."""
    kind = fb.Kind()
    if kind == TypeKind.TENSOR:
        return _decode_tensor_type(fb)
    if kind in _SCALARS_BY_KIND:
        return _SCALARS_BY_KIND[kind]()
    elements = [decode_type(fb.Elements(i)) for i in range(fb.ElementsLength())]
    if kind == TypeKind.TUPLE:
        return T.TupleType(tuple(elements))
    if kind not in (TypeKind.LIST, TypeKind.OPTIONAL) or len(elements) != 1:
        raise KeyError(f"type kind {kind} with {len(elements)} element types")
    return T.ListType(elements[0]) if kind == TypeKind.LIST else T.OptionalType(elements[0])


def _decode_tensor_type(fb: FbValueType.ValueType) -> T.TensorType:
    dtype = dtype_from_code(fb.Dtype()) if fb.DtypeKnown() else None
    rank = fb.Rank()
    if rank < 0:
        return T.TensorType(dtype, None)
    if fb.ShapeLength() != rank or fb.DimNamesLength() != rank:
        raise KeyError(f"tensor type of rank {rank} with {fb.ShapeLength()} dims and {fb.DimNamesLength()} names")
    shape = tuple(_decode_dim(fb.Shape(i), fb.DimNames(i)) for i in range(rank))
    return T.TensorType(dtype, shape)


def _decode_dim(size: int, name: bytes) -> int | str:
    if size >= 0:
        return size
    if not name:
        raise KeyError("a symbolic dim without a name")
    return name.decode()


# ---- attributes ----------------------------------------------------------------------------------
def _attr_kind(value) -> int:
    """The AttrKind a Python attribute value is stored as."""
    if value is None:
        return AttrKind.NONE
    if isinstance(value, InputAttr):
        return AttrKind.INPUT
    if isinstance(value, bool):
        return AttrKind.BOOL
    if isinstance(value, int):
        return AttrKind.INT
    if isinstance(value, float):
        return AttrKind.FLOAT
    if isinstance(value, str):
        return AttrKind.STRING
    if isinstance(value, DType):
        return AttrKind.DTYPE
    if isinstance(value, tuple | list):
        if all(isinstance(v, bool) for v in value) or all(isinstance(v, int) and not isinstance(v, bool)
                                                           for v in value):
            return AttrKind.INTS
        if all(isinstance(v, float) for v in value):
            return AttrKind.FLOATS
        return AttrKind.ITEMS
    raise UnsupportedValueError(f"attribute value {value!r} ({type(value).__name__}) has no .esm encoding")


def encode_attr(builder: flatbuffers.Builder, name: str, value) -> int:
    """Build the typed Attr table of one node attribute; return its offset."""
    kind = _attr_kind(value)
    name_off = builder.CreateString(name)
    payload = None
    if kind == AttrKind.STRING:
        payload = builder.CreateString(value)
    elif kind == AttrKind.INTS:
        payload = long_vector(builder, FbAttr.StartIntsVector, [int(v) for v in value])
    elif kind == AttrKind.FLOATS:
        FbAttr.StartFloatsVector(builder, len(value))
        for v in reversed(value):
            builder.PrependFloat64(float(v))
        payload = builder.EndVector()
    elif kind == AttrKind.ITEMS:
        payload = offset_vector(builder, FbAttr.StartItemsVector, [encode_attr(builder, "", v) for v in value])
    FbAttr.Start(builder)
    FbAttr.AddName(builder, name_off)
    FbAttr.AddKind(builder, kind)
    _add_attr_payload(builder, kind, value, payload)
    return FbAttr.End(builder)


def _add_attr_payload(builder: flatbuffers.Builder, kind: int, value, payload: int | None) -> None:
    if kind in (AttrKind.INT, AttrKind.BOOL):
        FbAttr.AddI(builder, int(value))
    elif kind == AttrKind.INPUT:
        FbAttr.AddI(builder, value.index)
    elif kind == AttrKind.FLOAT:
        FbAttr.AddF(builder, value)
    elif kind == AttrKind.DTYPE:
        FbAttr.AddDtype(builder, dtype_code(value))
    elif kind == AttrKind.STRING:
        FbAttr.AddS(builder, payload)
    elif kind in (AttrKind.INTS, AttrKind.FLOATS, AttrKind.ITEMS):
        {AttrKind.INTS: FbAttr.AddInts, AttrKind.FLOATS: FbAttr.AddFloats, AttrKind.ITEMS: FbAttr.AddItems}[kind](
            builder, payload)
        FbAttr.AddIsList(builder, isinstance(value, list))
        FbAttr.AddIsBools(builder, kind == AttrKind.INTS and bool(value) and isinstance(value[0], bool))


def _decode_sequence(fb: FbAttr.Attr, kind: int) -> list:
    if kind == AttrKind.INTS:
        return [int(fb.Ints(i)) for i in range(fb.IntsLength())]
    if kind == AttrKind.FLOATS:
        return [float(fb.Floats(i)) for i in range(fb.FloatsLength())]
    return [decode_attr(fb.Items(i))[1] for i in range(fb.ItemsLength())]


def decode_attr(fb: FbAttr.Attr) -> tuple[str, object]:
    """(name, Python value) of an Attr table (KeyError on an unknown kind)."""
    kind = fb.Kind()
    name = fb.Name().decode()
    if kind in (AttrKind.INTS, AttrKind.FLOATS, AttrKind.ITEMS):
        items = _decode_sequence(fb, kind)
        if fb.IsBools():
            items = [bool(v) for v in items]
        return name, items if fb.IsList() else tuple(items)
    decoders = {
        AttrKind.NONE: lambda: None,
        AttrKind.INT: lambda: int(fb.I()),
        AttrKind.BOOL: lambda: bool(fb.I()),
        AttrKind.FLOAT: lambda: float(fb.F()),
        AttrKind.STRING: lambda: (fb.S() or b"").decode(),
        AttrKind.DTYPE: lambda: dtype_from_code(fb.Dtype()),
        AttrKind.INPUT: lambda: InputAttr(int(fb.I())),
    }
    if kind not in decoders:
        raise KeyError(f"attribute {name!r} has unknown kind {kind}")
    return name, decoders[kind]()
