"""IR types: tensors with (symbolic) shapes, Python scalars, lists, tuples, optionals.

Every type is immutable and hashable; `str(t)` is its text form and `parse_type(str(t)) == t`.
A tensor dim is an int or a symbol string such as "N" (the batch); "?" is an unknown dim.
"""
from __future__ import annotations

from dataclasses import dataclass

from eager import dtypes as _dt
from eager.dtypes import DType

from .lexer import Cursor, TextError, tokenize


class IRType:
    """Base class of all IR types."""

    def __str__(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass(frozen=True)
class TensorType(IRType):
    """A tensor of `dtype` (None: unknown) and `shape` (None: unknown rank)."""

    dtype: DType | None = None
    shape: tuple | None = None

    def __post_init__(self) -> None:
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(self.shape))

    def __str__(self) -> str:
        if self.dtype is None and self.shape is None:
            return "Tensor"
        parts = [self.dtype.name if self.dtype is not None else "?"]
        if self.shape is not None:
            parts.append("[" + ", ".join(str(d) for d in self.shape) + "]")
        return "Tensor(" + ", ".join(parts) + ")"

    @property
    def rank(self) -> int | None:
        """The number of dims, or None when unknown."""
        return None if self.shape is None else len(self.shape)


@dataclass(frozen=True)
class _Scalar(IRType):
    def __str__(self) -> str:
        return self.NAME


class IntType(_Scalar):
    """A Python int (int64 semantics)."""

    NAME = "int"


class FloatType(_Scalar):
    """A Python float (float64)."""

    NAME = "float"


class BoolType(_Scalar):
    """A Python bool."""

    NAME = "bool"


class StrType(_Scalar):
    """A Python str."""

    NAME = "str"


class NoneType(_Scalar):
    """The type of None."""

    NAME = "None"


@dataclass(frozen=True)
class ListType(IRType):
    """A list whose elements all have type `elem`."""

    elem: IRType

    def __str__(self) -> str:
        return f"List[{self.elem}]"


@dataclass(frozen=True)
class TupleType(IRType):
    """A fixed-size tuple of element types."""

    elems: tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "elems", tuple(self.elems))

    def __str__(self) -> str:
        return "Tuple[" + ", ".join(str(e) for e in self.elems) + "]"


@dataclass(frozen=True)
class OptionalType(IRType):
    """`elem` or None."""

    elem: IRType

    def __str__(self) -> str:
        return f"Optional[{self.elem}]"


_SCALARS = {cls.NAME: cls for cls in (IntType, FloatType, BoolType, StrType, NoneType)}


def parse_type(text: str) -> IRType:
    """The type written as `text` (the inverse of `str(type)`)."""
    cur = Cursor(tokenize(text), 1, text)
    t = read_type(cur)
    if not cur.done():
        cur.fail("unexpected text after the type")
    return t


def read_type(cur: Cursor) -> IRType:
    """Read one type at the cursor (used by the IR parser too)."""
    name = cur.take(kind="name").text
    if name in _SCALARS:
        return _SCALARS[name]()
    if name == "Tensor":
        return _read_tensor(cur)
    if name in ("List", "Optional"):
        cur.take("[")
        elem = read_type(cur)
        cur.take("]")
        return ListType(elem) if name == "List" else OptionalType(elem)
    if name == "Tuple":
        cur.take("[")
        elems = []
        while not cur.accept("]"):
            if elems:
                cur.take(",")
            elems.append(read_type(cur))
        return TupleType(tuple(elems))
    cur.pos -= 1
    return cur.fail(f"unknown type {name!r}")


def _read_tensor(cur: Cursor) -> TensorType:
    if not cur.accept("("):
        return TensorType()
    dtype_name = cur.take(kind="name").text
    try:
        dtype = None if dtype_name == "?" else _dt.from_name(dtype_name)
    except TypeError as exc:
        raise TextError(f"line {cur.lineno}: {exc}") from None
    shape = None
    if cur.accept(","):
        cur.take("[")
        dims = []
        while not cur.accept("]"):
            if dims:
                cur.take(",")
            tok = cur.take()
            dims.append(int(tok.text) if tok.kind == "number" else tok.text)
        shape = tuple(dims)
    cur.take(")")
    return TensorType(dtype, shape)
