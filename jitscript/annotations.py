"""Type annotations of the script language, read from the parse tree (never evaluated).

`Tensor`, `int`, `float`, `bool`, `str`, `None`, `List[T]`, `Tuple[T, ...]`, `Optional[T]`
(also spelled `typing.List`, `eager.Tensor`, `"Tensor"`, `T | None`).
"""
from __future__ import annotations

from lark import Token, Tree

from .diagnostics import ScriptError
from .script_syntax import dotted_name
from .types import (
    BoolType,
    FloatType,
    IntType,
    IRType,
    ListType,
    NoneType,
    OptionalType,
    StrType,
    TensorType,
    TupleType,
)

DEFAULT_TENSOR = TensorType(None, None)

_SCALARS = {"int": IntType(), "float": FloatType(), "bool": BoolType(), "str": StrType(), "None": NoneType()}
_GENERICS = ("List", "Tuple", "Optional", "list", "tuple")


def annotation_type(tree, source_map, tensor_type: IRType = DEFAULT_TENSOR) -> IRType:
    """The IR type an annotation tree denotes (`tensor_type` for `Tensor`), or a ScriptError."""
    if isinstance(tree, Tree) and tree.data == "const_none":
        return NoneType()
    if isinstance(tree, Tree) and tree.data == "string":
        return _from_string(tree, source_map, tensor_type)
    if isinstance(tree, Tree) and tree.data == "binop" and str(tree.children[1]) == "|":
        left = annotation_type(tree.children[0], source_map, tensor_type)
        right = annotation_type(tree.children[2], source_map, tensor_type)
        if isinstance(right, NoneType):
            return OptionalType(left)
        if isinstance(left, NoneType):
            return OptionalType(right)
    name = _dotted(tree)
    if name is not None:
        last = name.rsplit(".", 1)[-1]
        if last == "Tensor":
            return tensor_type
        if last in _SCALARS and "." not in name:
            return _SCALARS[last]
    if isinstance(tree, Tree) and tree.data == "getitem":
        head = _dotted(tree.children[0])
        last = head.rsplit(".", 1)[-1] if head else None
        if last in _GENERICS:
            sub = tree.children[1]
            args = sub.children if isinstance(sub, Tree) and sub.data == "subscript_tuple" else [sub]
            types = [annotation_type(a, source_map, tensor_type) for a in args if a is not None]
            return _generic(last, types, tree, source_map)
    raise ScriptError("this type annotation is not supported in script", source_map.loc_of(tree),
                      "use Tensor, int, float, bool, str, List[T], Tuple[...] or Optional[T]")


def _generic(name: str, types: list, tree, source_map) -> IRType:
    if name in ("Tuple", "tuple"):
        return TupleType(tuple(types))
    if len(types) != 1:
        raise ScriptError(f"{name}[...] takes one type", source_map.loc_of(tree))
    return ListType(types[0]) if name in ("List", "list") else OptionalType(types[0])


def _dotted(tree) -> str | None:
    return str(tree) if isinstance(tree, Token) else dotted_name(tree)


def _from_string(tree, source_map, tensor_type: IRType) -> IRType:
    from .frontend import parser

    text = "".join(eval(str(t)) for t in tree.children)  # noqa: S307 - a string literal token
    inner = parser().parse(f"x: {text}\n")
    return annotation_type(inner.children[0].children[1], source_map, tensor_type)
