"""The expression half of the script compiler (a mixin of `FunctionCompiler`).

Every `expr_<rule>` method compiles one grammar rule to an SV. Scalar arithmetic on
constants is folded; tensor arithmetic goes to `lowering.py`, which maps calls to registry ops.
"""
from __future__ import annotations

import builtins
import operator
import types as pytypes

from lark import Token, Tree

from . import lowering
from .diagnostics import ScriptError
from .ir import Value
from .script_values import (
    SV,
    Callee,
    Const,
    ListSV,
    ModuleRef,
    TupleSV,
    Undefined,
    const_type,
    describe_type,
    is_module_sequence,
    type_of,
)
from .types import BoolType, FloatType, IntType, ListType, NoneType, OptionalType, StrType, TensorType, TupleType

_SCALAR_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "//": "floordiv", "%": "mod", "**": "pow",
               "&": "and", "|": "or"}
_FOLD = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
         "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow, "min": min, "max": max,
         "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
         "ge": operator.ge, "and": operator.and_, "or": operator.or_}
_COMPARE = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_BUILTINS = ("len", "min", "max", "abs", "int", "float", "bool", "range", "enumerate", "getattr")


class ExpressionCompiler:
    """Expression methods; the host class provides env, errors, materialize and the session `s`."""

    def expr(self, tree) -> SV:
        if isinstance(tree, Token):
            raise self.unsupported(f"the token {tree!s}", tree)
        from .script_syntax import UNSUPPORTED_EXPRS

        if tree.data in UNSUPPORTED_EXPRS:
            what, hint = UNSUPPORTED_EXPRS[tree.data]
            raise self.unsupported(what, tree, hint)
        handler = getattr(self, "expr_" + tree.data, None)
        if handler is None:
            raise self.unsupported(f"the expression {tree.data!r}", tree)
        return handler(tree)

    # ---- literals and names --------------------------------------------------------------------
    def expr_number(self, tree) -> SV:
        text = str(tree.children[0]).replace("_", "")
        if text[-1] in "jJ":
            raise self.unsupported("a complex number", tree)
        if text[:2].lower() in ("0x", "0o", "0b"):
            return Const(int(text, 0))
        return Const(float(text) if any(c in text for c in ".eE") else int(text))

    def expr_string(self, tree) -> SV:
        parts = []
        for tok in tree.children:
            text = str(tok)
            if text[:2].lower().replace("r", "").startswith(("f", "b")) or text[0] in "fFbB":
                raise self.unsupported("an f-string or bytes literal", tree, "use a plain string literal")
            parts.append(eval(text))  # noqa: S307 - a string literal token, checked above
        return Const("".join(parts))

    def expr_const_none(self, tree) -> SV:
        return Const(None)

    def expr_const_true(self, tree) -> SV:
        return Const(True)

    def expr_const_false(self, tree) -> SV:
        return Const(False)

    def expr_tuple(self, tree) -> SV:
        return TupleSV(tuple(self.expr(c) for c in tree.children if c is not None))

    def expr_list(self, tree) -> SV:
        items = tuple(self.expr(c) for c in tree.children if c is not None)
        kinds = {type(type_of(i)) for i in items}
        if len(kinds) > 1 and not kinds <= {IntType, FloatType}:
            raise self.error("list items must have one type, got "
                             + " and ".join(sorted(describe_type(type_of(i)) for i in items)), tree,
                             "use a tuple for items of different types")
        return ListSV(items)

    def expr_name(self, tree) -> SV:
        return self.read_name(tree)

    def read_name(self, tree) -> SV:
        name = str(tree.children[0])
        if name in self.env:
            value = self.env[name]
            if isinstance(value, Undefined):
                raise ScriptError(value.reason, self.loc(tree),
                                  "assign it on every path before this use")
            return value
        return self.lookup_global(name, tree)

    def lookup_global(self, name: str, tree) -> SV:
        """A global or closure variable as an SV (modules, functions and constants only)."""
        if name in self.closure:
            obj = self.closure[name]
        elif name in self.globals:
            obj = self.globals[name]
        elif hasattr(builtins, name):
            obj = getattr(builtins, name)
        else:
            raise self.error(f"unknown name {name!r}", tree, "define it, or pass it as an argument")
        return self.python_value(obj, name, tree)

    def python_value(self, obj, name: str, tree) -> SV:
        """What a Python object read from globals or an attribute means in script."""
        from eager.dtypes import DType
        from eager.tensor import Tensor

        if const_type(obj) is not None or isinstance(obj, (DType, pytypes.ModuleType, dict)):
            return Const(obj)  # a dict is a compile-time table: only indexed by constants
        if isinstance(obj, tuple) and all(const_type(v) is not None for v in obj):
            return TupleSV(tuple(Const(v) for v in obj))
        if isinstance(obj, Tensor):
            raise self.unsupported(f"the global tensor {name!r}", tree,
                                   "register it as a buffer of the module, or pass it as an argument")
        if _is_module(obj):
            return ModuleRef(obj, f"{name}.")
        python_fn = getattr(obj, "python_fn", None)
        if python_fn is not None:  # a ScriptModule made by @jitscript.script: compile its source inline
            return Callee(python_fn)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            return Const(obj)
        if callable(obj):
            return Callee(obj, name=name)
        raise self.unsupported(f"the global {name!r} of type {type(obj).__name__}", tree,
                               "only modules, functions and int/float/bool/str constants can be read from globals")

    # ---- attributes ----------------------------------------------------------------------------
    def expr_getattr(self, tree) -> SV:
        base_tree, attr = tree.children
        base, attr = self.expr(base_tree), str(attr)
        if isinstance(base, Const) and isinstance(base.value, pytypes.ModuleType):
            if not hasattr(base.value, attr):
                raise self.error(f"module {base.value.__name__!r} has no attribute {attr!r}", tree)
            return self.python_value(getattr(base.value, attr), f"{base.value.__name__}.{attr}", tree)
        if isinstance(base, ModuleRef):
            return self.module_attr(base, attr, tree)
        if isinstance(base, Const) and const_type(getattr(base.value, attr, object())) is not None:
            return Const(getattr(base.value, attr))  # e.g. x.device.type, dtype.is_floating_point
        if isinstance(base, Value) and isinstance(base.type, TensorType):
            return lowering.tensor_attr(self, base, attr, tree)
        raise self.error(f"{describe_type(type_of(base))} has no attribute {attr!r} in script", tree)

    def module_attr(self, ref: ModuleRef, attr: str, tree) -> SV:
        from eager.tensor import Tensor

        module = ref.module
        d = module.__dict__
        for table in ("_parameters", "_buffers"):
            if attr in d.get(table, {}):
                tensor = d[table][attr]
                return Const(None) if tensor is None else self.s.param(tensor, ref.path + attr, self.where(tree))
        if attr in d.get("_modules", {}):
            sub = d["_modules"][attr]
            return Const(None) if sub is None else ModuleRef(sub, f"{ref.path}{attr}.")
        if attr in d:
            value = d[attr]
            if isinstance(value, Tensor):
                return self.s.param(value, ref.path + attr, self.where(tree))
            return self.python_value(value, f"self.{attr}", tree)
        cls_attr = getattr(type(module), attr, None)
        if callable(cls_attr):
            return Callee(cls_attr, bound=ref, name=attr)
        if hasattr(type(module), attr):
            return self.python_value(cls_attr, f"self.{attr}", tree)
        raise self.error(f"module {type(module).__name__} has no attribute {attr!r}", tree)

    # ---- operators -----------------------------------------------------------------------------
    def expr_binop(self, tree) -> SV:
        left, op, right = tree.children
        return self.binary(str(op), self.expr(left), self.expr(right), tree)

    def binary(self, op: str, a: SV, b: SV, where) -> SV:
        ta, tb = type_of(a), type_of(b)
        if isinstance(ta, TensorType) or isinstance(tb, TensorType):
            return lowering.tensor_binary(self, op, a, b, where)
        if isinstance(ta, StrType) and isinstance(tb, StrType) and op == "+" and isinstance(a, Const) \
                and isinstance(b, Const):
            return Const(a.value + b.value)
        if isinstance(a, (TupleSV, ListSV)) and type(a) is type(b) and op == "+":
            return type(a)(a.items + b.items)
        if isinstance(ta, ListType) and isinstance(tb, ListType) and op == "+":
            return self.list_concat(a, b, where)
        name = _SCALAR_OPS.get(op)
        if name is None or not _is_scalar(ta) or not _is_scalar(tb):
            raise self.error(f"unsupported operand types for {op}: {describe_type(ta)} and {describe_type(tb)}",
                             where)
        if op in "&|" and not (isinstance(ta, BoolType) and isinstance(tb, BoolType)):
            # prim::and / prim::or are logical: Python's bitwise & and | of ints are not compiled
            raise self.error(f"{op} on {describe_type(ta)} and {describe_type(tb)}: script supports {op} on bools "
                             "only (bitwise ops on ints are not implemented)", where)
        return self.scalar_op(name, a, b, where)

    def list_concat(self, a: SV, b: SV, where) -> Value:
        """Run-time list + list (lists are values in script: a new list)."""
        from .script_values import join

        out = join(type_of(a), type_of(b))
        if out is None:
            raise self.error(f"cannot concatenate {describe_type(type_of(a))} and {describe_type(type_of(b))}", where)
        values = [self.materialize(v, where, out) for v in (a, b)]
        return self.s.add("prim::add", values, None, [out], self.where(where))

    def scalar_op(self, name: str, a: SV, b: SV | None, where) -> SV:
        """A scalar prim:: op (folded when every operand is a constant)."""
        operands = [a] if b is None else [a, b]
        if all(isinstance(v, Const) for v in operands):
            try:
                if b is None:
                    return Const({"neg": operator.neg, "not": operator.not_, "abs": abs}[name](a.value))
                return Const(_FOLD[name](a.value, b.value))
            except (ZeroDivisionError, TypeError, ValueError) as exc:
                raise self.error(f"{name}: {exc}", where) from None
        values = [self.materialize(v, where) for v in operands]
        from .prims import scalar_result_type

        out = scalar_result_type("prim::" + name, [v.type for v in values])
        if name == "pow" and all(isinstance(v.type, IntType) for v in values):
            out = IntType()
        return self.s.add("prim::" + name, values, None, [out], self.where(where))

    def expr_unary(self, tree) -> SV:
        op, operand_tree = tree.children
        op, value = str(op), self.expr(operand_tree)
        t = type_of(value)
        if isinstance(t, TensorType):
            return lowering.tensor_unary(self, op, value, tree)
        if op == "+" and _is_scalar(t):
            return value
        if op == "-" and _is_scalar(t):
            return self.scalar_op("neg", value, None, tree)
        raise self.error(f"bad operand type for unary {op}: {describe_type(t)}", tree)

    def expr_not_expr(self, tree) -> SV:
        return self.scalar_op("not", self.to_bool(self.expr(tree.children[0]), tree), None, tree)

    def to_bool(self, value: SV, where) -> SV:
        """`value` as a bool condition (a one-element tensor is read with prim::bool)."""
        t = type_of(value)
        if isinstance(value, Const):
            if t is None and not isinstance(value.value, (pytypes.ModuleType, type)):
                raise self.error(f"{value.value!r} cannot be used as a condition", where)
            return Const(bool(value.value))
        if isinstance(value, (ModuleRef, Callee)):
            return Const(True)
        if isinstance(value, (TupleSV, ListSV)):
            return Const(bool(value.items))
        if isinstance(t, BoolType):
            return value
        if isinstance(t, (IntType, FloatType, TensorType)):
            return self.s.add("prim::bool", [value], None, [BoolType()], self.where(where))
        if isinstance(t, OptionalType):
            raise self.error(f"an {describe_type(t)} cannot be used as a condition", where,
                             "test it with `is None` or `is not None`")
        raise self.error(f"{describe_type(t)} cannot be used as a condition", where)

    def expr_and_expr(self, tree) -> SV:
        return self.short_circuit(tree, is_and=True)

    def expr_or_expr(self, tree) -> SV:
        return self.short_circuit(tree, is_and=False)

    def short_circuit(self, tree, is_and: bool) -> SV:
        """`a and b and c` / `a or b`: later operands run only when needed (a prim::if each)."""
        first, *others = tree.children
        value = self.to_bool(self.expr(first), first)
        if not others:
            return value
        if isinstance(value, Const):
            if value.value != is_and:  # False and ... / True or ...
                return value
            self.refine(first, is_and)
            return self.short_circuit(Tree(tree.data, others, meta=tree.meta), is_and)

        rest = Tree(tree.data, others, meta=tree.meta)
        return self.bool_if(value, rest, is_and, tree)

    def bool_if(self, cond: Value, rest_tree, is_and: bool, where) -> SV:
        """`cond and rest` / `cond or rest` as a prim::if: `rest` runs in one branch only."""
        from .ir import Block

        before = dict(self.env)
        blocks = [Block(), Block()]
        for i, block in enumerate(blocks):
            self.env = dict(before)
            if (i == 0) == is_and:  # `and` evaluates the rest when true, `or` when false

                def rest():
                    self.refine(where.children[0], is_and)
                    return self.materialize(self.short_circuit(rest_tree, is_and), where, BoolType())
                out = self.in_block(block, rest)
            else:
                out = self.in_block(block, lambda: self.materialize(Const(not is_and), where, BoolType()))
            block.returns = [out]
        self.env = before
        return self.s.add("prim::if", [cond], None, [BoolType()], self.where(where), blocks=blocks)

    def expr_ifexp(self, tree) -> SV:
        then_tree, cond_tree, else_tree = tree.children
        cond = self.to_bool(self.expr(cond_tree), cond_tree)
        if isinstance(cond, Const):
            self.refine(cond_tree, bool(cond.value))
            return self.expr(then_tree if cond.value else else_tree)
        from .ir import Block
        from .script_values import join

        before = dict(self.env)
        values, blocks = [], [Block(), Block()]
        for block, sub, truth in ((blocks[0], then_tree, True), (blocks[1], else_tree, False)):
            self.env = dict(before)
            self.refine(cond_tree, truth)
            values.append(self.in_block(block, lambda sub=sub: self.expr(sub)))
        self.env = before
        t0, t1 = type_of(values[0]), type_of(values[1])
        merged = join(t0, t1) if t0 is not None and t1 is not None else None
        if merged is None:
            raise self.error(f"the two sides of the conditional expression have types {describe_type(t0)} and "
                             f"{describe_type(t1)}", tree, "make both sides the same type")
        for block, v in zip(blocks, values):
            block.returns = [self.in_block(block, lambda v=v: self.materialize(v, tree, merged))]
        return self.s.add("prim::if", [cond], None, [merged], self.where(tree), blocks=blocks)

    def expr_compare(self, tree) -> SV:
        """`a < b`, chains `a < b <= c` (each middle operand evaluated once), `is None`."""
        children = tree.children
        left = self.expr(children[0])
        result = None
        for i in range(1, len(children), 2):
            op = " ".join(str(t) for t in children[i].children)
            right_tree = children[i + 1]
            right = self.expr(right_tree)
            part = self.compare(op, left, right, tree, right_tree)
            if result is None:
                result = part
            else:
                result = self.scalar_op("and", self.to_bool(result, tree), self.to_bool(part, tree), tree)
            left = right
        return result

    def compare(self, op: str, a: SV, b: SV, tree, right_tree) -> SV:
        if op in ("is", "is not"):
            return self.is_none(op, a, b, tree)
        if op in ("in", "not in"):
            return self.contains(op, a, b, tree)
        ta, tb = type_of(a), type_of(b)
        if isinstance(ta, TensorType) or isinstance(tb, TensorType):
            return lowering.tensor_binary(self, op, a, b, tree)
        if isinstance(a, Const) and isinstance(b, Const) and op in ("==", "!="):
            return Const((a.value == b.value) == (op == "=="))
        if not (_is_scalar(ta) and _is_scalar(tb)):
            raise self.error(f"cannot compare {describe_type(ta)} with {describe_type(tb)} using {op}", tree)
        return self.scalar_op(_COMPARE[op], a, b, tree)

    def contains(self, op: str, a: SV, b: SV, tree) -> SV:
        """`a in (c1, c2, ...)` over a tuple or list literal: `a == c1 or a == c2 ...`."""
        if not isinstance(b, (TupleSV, ListSV)) or not _is_scalar(type_of(a)) and not isinstance(a, Const):
            raise self.unsupported(f"the {op!r} operator on {describe_type(type_of(b))}", tree,
                                   "use it with a tuple literal of scalars, or compare the items one by one")
        found: SV = Const(False)
        for item in b.items:
            found = self.scalar_op("or", found, self.compare("==", a, item, tree, tree), tree)
        return found if op == "in" else self.scalar_op("not", found, None, tree)

    def is_none(self, op: str, a: SV, b: SV, tree) -> SV:
        if not (isinstance(b, Const) and b.value is None):
            return self.is_same(op, a, b, tree)
        t = type_of(a)
        if isinstance(t, OptionalType):
            test = self.s.add("prim::is_none", [a], None, [BoolType()], self.where(tree))
            return test if op == "is" else self.scalar_op("not", test, None, tree)
        return Const(isinstance(t, NoneType) == (op == "is"))

    def is_same(self, op: str, a: SV, b: SV, tree) -> SV:
        """`a is b` between tensors or modules: decided at compile time by SSA identity."""
        if isinstance(a, Const) or isinstance(b, Const) or type_of(a) is not None and not isinstance(
                type_of(a), TensorType):
            raise self.unsupported("'is' with something other than None", tree, "use == to compare values")
        same = a is b or isinstance(a, ModuleRef) and isinstance(b, ModuleRef) and a.module is b.module
        return Const(same == (op == "is"))

    # ---- subscripts ----------------------------------------------------------------------------
    def expr_getitem(self, tree) -> SV:
        base_tree, index_tree = tree.children
        if _is_shape_read(base_tree) and index_tree.data != "slice":  # x.shape[i] needs no rank
            tensor, index = self.expr(base_tree.children[0]), self.expr(index_tree)
            if isinstance(type_of(tensor), TensorType) and isinstance(index, Const):
                return lowering.size(self, tensor, index.value, tree)
        base = self.expr(base_tree)
        t = type_of(base)
        if isinstance(base, Const) and isinstance(base.value, dict):
            key = self.expr(index_tree)
            if not isinstance(key, Const) or key.value not in base.value:
                raise self.error("a dict from globals can only be indexed by one of its keys, as a constant",
                                 index_tree)
            return self.python_value(base.value[key.value], "an item", tree)
        if isinstance(t, TensorType):
            return lowering.tensor_getitem(self, base, index_tree, tree)
        index = self.expr(index_tree) if index_tree.data != "slice" else None
        if isinstance(base, (TupleSV, ListSV)) or isinstance(base, ModuleRef) and is_module_sequence(base.module):
            items = self.sequence_items(base, tree)
            if isinstance(index, Const) and isinstance(index.value, int) and -len(items) <= index.value < len(items):
                return items[index.value]
            if isinstance(base, ListSV) and isinstance(type_of(index), IntType):
                return self.list_index(self.materialize(base, tree), index, tree)
            raise self.error("a tuple or ModuleList index must be an in-range int constant", index_tree)
        if isinstance(t, TupleType):
            if not (isinstance(index, Const) and isinstance(index.value, int)):
                raise self.error("a tuple index must be an int constant", index_tree)
            i = index.value % max(len(t.elems), 1)
            return self.s.add("prim::tuple_index", [base], {"index": i}, [t.elems[i]], self.where(tree))
        if isinstance(t, ListType) and isinstance(type_of(index), IntType):
            return self.list_index(base, index, tree)
        raise self.error(f"{describe_type(t)} cannot be indexed with {describe_type(type_of(index))}", tree)

    def list_index(self, lst: Value, index: SV, where) -> Value:
        i = self.materialize(index, where)
        return self.s.add("prim::list_index", [lst, i], None, [lst.type.elem], self.where(where))

    # ---- calls ---------------------------------------------------------------------------------
    def expr_call(self, tree) -> SV:
        return self.call(tree)

    def call(self, tree) -> SV:
        func_tree, arguments = tree.children
        callee = self.expr(func_tree)
        args, kwargs = self.call_arguments(arguments)
        if isinstance(callee, ModuleRef) and is_module_sequence(callee.module):
            return self.call_sequential(callee, args, kwargs, tree)
        if isinstance(callee, ModuleRef):
            forward = getattr(type(callee.module), "forward", None)
            if forward is None:
                raise self.error(f"module {type(callee.module).__name__} has no forward", tree)
            return self.inline(forward, callee, args, kwargs, tree)
        if isinstance(callee, Const) and isinstance(callee.value, type):
            raise self.unsupported(f"constructing {callee.value.__name__}", tree,
                                   "exceptions can only be raised: raise ValueError(\"message\")")
        if not isinstance(callee, Callee):
            raise self.error(f"{describe_type(type_of(callee))} is not callable", func_tree)
        if isinstance(callee.bound, Value):
            return lowering.tensor_method(self, callee.name, callee.bound, args, kwargs, tree)
        fn = callee.fn
        if isinstance(callee.bound, ModuleRef):
            return self.inline(fn, callee.bound, args, kwargs, tree)
        if fn in (getattr(builtins, b) for b in _BUILTINS):
            return self.builtin(fn.__name__, args, kwargs, tree)
        if lowering.is_eager_function(fn):
            out = lowering.eager_function(self, fn, args, kwargs, tree)
            if out is not None:
                return out
        if getattr(fn, "__module__", None) == "math" and all(isinstance(a, Const) for a in args) and not kwargs:
            return Const(fn(*(a.value for a in args)))  # math on constants folds
        if _has_python_source(fn):
            return self.inline(fn, None, args, kwargs, tree)
        name = getattr(fn, "__qualname__", None) or callee.name or repr(fn)
        module = getattr(fn, "__module__", None)
        raise self.unsupported(f"calling {module + '.' if module and module != 'builtins' else ''}{name}",
                               func_tree, "call eager ops, submodules, methods or @jitscript.script functions")

    def call_sequential(self, ref: ModuleRef, args: list, kwargs: dict, tree) -> SV:
        """A Sequential applies its children in order (unrolled)."""
        if len(args) != 1 or kwargs:
            raise self.error("a Sequential takes one argument", tree)
        out = args[0]
        for child in self.sequence_items(ref, tree):
            forward = type(child.module).forward
            out = self.inline(forward, child, [out], {}, tree)
        return out

    def call_arguments(self, arguments) -> tuple[list, dict]:
        args, kwargs = [], {}
        if arguments is None:
            return args, kwargs
        from .script_syntax import UNSUPPORTED_EXPRS

        for a in arguments.children:
            if a is None:
                continue
            if isinstance(a, Tree) and a.data == "kwarg":
                kwargs[str(a.children[0])] = self.expr(a.children[1])
            elif isinstance(a, Tree) and a.data in ("starred_arg", "kwargs_arg", "generator"):
                what, hint = UNSUPPORTED_EXPRS[a.data]
                raise self.unsupported(what, a, hint)
            else:
                args.append(self.expr(a))
        return args, kwargs

    def inline(self, fn, bound, args: list, kwargs: dict, tree) -> SV:
        from .compiler import compile_function

        return compile_function(self.s, fn, bound, args, dict(kwargs), self.loc(tree))

    def builtin(self, name: str, args: list, kwargs: dict, tree) -> SV:
        if kwargs:
            raise self.error(f"{name}() takes no keyword arguments in script", tree)
        if name in ("range", "enumerate"):
            raise self.unsupported(f"{name}() outside a for loop header", tree,
                                   f"use it as `for ... in {name}(...)`")
        if name == "len":
            return self.length(args[0], tree)
        if name == "getattr":
            return self.module_getattr(args, tree)
        if name in ("min", "max"):
            if len(args) < 2 or not all(_is_scalar(type_of(a)) for a in args):
                raise self.unsupported(f"{name}() of anything but two or more scalars", tree,
                                       f"use eager.{name}imum for tensors")
            out = args[0]
            for a in args[1:]:
                out = self.scalar_op(name, out, a, tree)
            return out
        if name == "abs":
            if isinstance(type_of(args[0]), TensorType):
                return lowering.tensor_unary(self, "abs", args[0], tree)
            return self.scalar_op("abs", args[0], None, tree)
        return self.convert_scalar(name, args[0], tree)

    def module_getattr(self, args: list, tree) -> SV:
        """`getattr(module, name)` / `getattr(module, name, default)` with a constant name: the
        attribute as `module.name` reads it; the default when the module has no such attribute."""
        if len(args) not in (2, 3) or not isinstance(args[0], ModuleRef) or not (
                isinstance(args[1], Const) and isinstance(args[1].value, str)):
            raise self.unsupported("getattr() of anything but a module and a constant name", tree,
                                   "write the attribute out: self.name")
        ref, attr = args[0], args[1].value
        if len(args) == 3 and not hasattr(ref.module, attr):
            return args[2]
        return self.module_attr(ref, attr, tree)

    def convert_scalar(self, name: str, value: SV, tree) -> SV:
        """int(x), float(x), bool(x) of a scalar or a one-element tensor."""
        if isinstance(value, Const):
            return Const({"int": int, "float": float, "bool": bool}[name](value.value))
        if name == "bool":
            return self.to_bool(value, tree)
        if isinstance(type_of(value), TensorType):
            value = self.s.add("prim::item", [value], None, [FloatType() if name == "float" else IntType()],
                               self.where(tree))
        out = {"int": IntType(), "float": FloatType()}[name]
        return self.s.add("prim::" + name, [value], None, [out], self.where(tree))

    def length(self, value: SV, tree) -> SV:
        items = self.sequence_items(value, tree) if not isinstance(value, Value) or isinstance(
            value.type, TupleType) else None
        if items is not None:
            return Const(len(items))
        t = type_of(value)
        if isinstance(t, TensorType):
            return lowering.size(self, value, 0, tree)
        if isinstance(t, ListType):
            return self.s.add("prim::len", [value], None, [IntType()], self.where(tree))
        raise self.error(f"len() of {describe_type(t)}", tree)


def _is_shape_read(tree) -> bool:
    return isinstance(tree, Tree) and tree.data == "getattr" and str(tree.children[1]) == "shape"


def _is_scalar(t) -> bool:
    return isinstance(t, (IntType, FloatType, BoolType))


def _is_module(obj) -> bool:
    from eager.nn import Module

    return isinstance(obj, Module)


def _has_python_source(fn) -> bool:
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    return code is not None and not code.co_filename.startswith("<")
