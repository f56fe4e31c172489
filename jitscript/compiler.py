"""The script compiler: a parsed function body lowered to the typed IR, control flow kept.

One `FunctionCompiler` compiles one function body into the current block of a shared
`Session` (a call to a method, a submodule or another script function is compiled inline by
a nested FunctionCompiler). Names map to SVs (`script_values.py`): run-time IR values or
things known at compile time, which fold away.

Control flow in SSA form:
- `if`: both branches are compiled into the blocks of a `prim::if`; a variable assigned in a
  branch becomes an output of the if (its types on the two paths must agree).
- `return`, `break` and `continue` inside an `if`: the statements after the `if` are compiled
  into each branch that can fall through (continuation passing), so every path ends in one
  exit. A path's exit records its results in pseudo-variables: `$ret` (the value returned),
  `$cond` (does the loop go on) and `$returned` (did a loop body return).
- `while` / `for i in range(...)` / `for x in list`: a `prim::loop` whose carried values are
  the variables the body assigns that exist before the loop (plus `$returned`/`$ret` when the
  body can return: after the loop, `if $returned: return $ret`).
- `for m in self.layers` over a ModuleList (or a tuple/list literal): unrolled.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

from lark import Tree

from .annotations import annotation_type
from .diagnostics import ScriptError, SourceLoc, unsupported
from .expressions import ExpressionCompiler
from .frontend import SourceMap, parse_function
from .ir import Block, Graph, Value
from .loops import LoopCompiler
from .script_syntax import (
    COND,
    LOOP_STMTS,
    RET,
    RETURNED,
    TRACE_HINT,
    UNSUPPORTED_STMTS,
    End,
    Exit,
    call_args,
    dotted_name,
    is_append,
    may_exit,
    name_of,
    param_list,
    pretty,
    suite_stmts,
)
from .script_values import (
    SV,
    Callee,
    Const,
    ListSV,
    ModuleRef,
    TupleSV,
    Undefined,
    assignable,
    const_type,
    describe_type,
    join,
    type_of,
)
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


class Session:
    """State shared by the functions compiled for one `script()` call: the graph, its
    parameters, and the current insertion block."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.block = self.graph.block
        self.param_names: dict[int, str] = {}
        self.call_stack: list = []

    def param(self, tensor, name: str, loc: str) -> Value:
        """A `prim::param` node reading `tensor` (registered once under `name`)."""
        name = self.param_names.setdefault(id(tensor), name)
        self.graph.params[name] = tensor
        return self.add("prim::param", [], {"name": name}, [TensorType(tensor.dtype, tuple(tensor.shape))], loc,
                        name=name.replace(".", "_"))

    def add(self, op: str, inputs: list, attrs: dict | None, out_types: list, loc: str | None,
            blocks: list | None = None, name: str | None = None):
        node = self.block.add_node(op, inputs, attrs, out_types, loc=loc, blocks=blocks,
                                   names=[name] * len(out_types) if name else None)
        return node.outputs[0] if len(node.outputs) == 1 else node


class FunctionCompiler(ExpressionCompiler, LoopCompiler):
    """Compiles one function body (top level or inlined) into `session.block`."""

    def __init__(self, session: Session, fn: Callable, tree: Tree, source_map: SourceMap) -> None:
        self.s = session
        self.fn = fn
        self.tree = tree
        self.sm = source_map
        self.globals = getattr(fn, "__globals__", {})
        self.closure = _closure_vars(fn)
        self.env: dict[str, SV] = {}
        self.loops: list[dict] = []  # innermost last: {"cond": tree|None, "carried": [...]}
        self.return_type: IRType | None = None

    # ---- errors and locations ------------------------------------------------------------------
    def loc(self, item) -> SourceLoc:
        return self.sm.loc_of(item)

    def where(self, item) -> str:
        return self.loc(item).short

    def error(self, message: str, item, hint: str | None = None) -> ScriptError:
        return ScriptError(message, self.loc(item), hint)

    def unsupported(self, what: str, item, hint: str | None = None) -> ScriptError:
        return unsupported(what, self.loc(item), hint)

    # ---- the function ------------------------------------------------------------------------
    def signature(self, tensor_types: dict | None = None) -> list[tuple]:
        """[(name, IRType, tree)] of the parameters (self excluded by the caller)."""
        name_tok, params, ret_ann, _ = self.tree.children
        out = []
        for p in param_list(params):
            if p.data == "starparam":
                raise self.unsupported("*args", p, "list the arguments explicitly")
            if p.data == "kwparam":
                raise self.unsupported("**kwargs", p, "list the arguments explicitly")
            pname, ann, _default = p.children
            default_tensor = (tensor_types or {}).get(str(pname), TensorType(None, None))
            ptype = annotation_type(ann, self.sm, default_tensor) if ann is not None else default_tensor
            out.append((str(pname), ptype, p))
        if ret_ann is not None:
            self.return_type = annotation_type(ret_ann, self.sm)
        return out

    def bind_arguments(self, params: list, args: list, kwargs: dict, loc: SourceLoc) -> None:
        """Bind call arguments to `params` ([(name, type, tree)]), checking their types."""
        if len(args) > len(params):
            raise ScriptError(f"{self.fn.__qualname__}() takes {len(params)} argument(s), got {len(args)}", loc)
        defaults = {k: p.default for k, p in inspect.signature(self.fn).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        for i, (name, declared, ptree) in enumerate(params):
            if i < len(args):
                value = args[i]
            elif name in kwargs:
                value = kwargs.pop(name)
            elif name in defaults:
                value = _default_sv(defaults[name])
                if value is None:
                    raise self.error(f"the default value of {name} is not a constant", ptree)
            else:
                raise ScriptError(f"{self.fn.__qualname__}() is missing the argument {name!r}", loc)
            got = type_of(value)
            if ptree.children[1] is None:  # unannotated: takes what it is given (typed by use)
                self.env[name] = value
                continue
            if not assignable(declared, got):
                raise ScriptError(f"argument {name!r} of {self.fn.__qualname__}() must be {describe_type(declared)}, "
                                  f"got {describe_type(got)}", loc, f"pass {describe_type(declared)} as {name}")
            if isinstance(value, Const) and isinstance(declared, FloatType) and isinstance(value.value, int):
                value = Const(float(value.value))
            self.env[name] = value
        if kwargs:
            unexpected = next(iter(kwargs))
            raise ScriptError(f"{self.fn.__qualname__}() got an unexpected keyword argument {unexpected!r}", loc)

    def compile_body(self) -> SV:
        """Compile the body (the env holds the arguments); the SV the function returns."""
        body = suite_stmts(self.tree.children[3])
        state = self.stmts(body + [End()])
        if state == Exit.RAISE:
            return Const(None)
        ret = self.env[RET]
        self.check_return(ret)
        return ret

    def check_return(self, ret: SV) -> None:
        if self.return_type is None:
            return
        got = type_of(ret)
        if not assignable(self.return_type, got):
            raise self.error(f"the function is annotated to return {describe_type(self.return_type)} but "
                             f"returns {describe_type(got)}", self.tree.children[2],
                             "fix the annotation or the returned value")

    # ---- statements ----------------------------------------------------------------------------
    def stmts(self, stmts: list) -> str:
        """Compile a statement list; the last item is an exit marker, so every path exits
        unless a statement raises. Returns how the list ended (an `Exit` value)."""
        for i, stmt in enumerate(stmts):
            rest = stmts[i + 1:]
            kind = stmt.data
            if kind == "if_stmt" and may_exit(stmt, in_loop=bool(self.loops)):
                return self.if_stmt(stmt, rest)
            if kind in LOOP_STMTS:
                state = self.loop_stmt(stmt, rest)
                if state is not None:
                    return state
                continue
            state = self.stmt(stmt)
            if state != Exit.FALL:
                return state
        return Exit.FALL

    def stmt(self, stmt) -> str:
        kind = stmt.data
        if kind in UNSUPPORTED_STMTS:
            what, hint = UNSUPPORTED_STMTS[kind]
            raise self.unsupported(what, stmt, hint)
        handler = getattr(self, "stmt_" + kind, None)
        if handler is None:
            raise self.unsupported(f"the statement {kind!r}", stmt, TRACE_HINT)
        return handler(stmt) or Exit.FALL

    def stmt_expr_stmt(self, stmt):
        expr = stmt.children[0]
        if isinstance(expr, Tree) and expr.data == "string":
            return None  # a docstring
        if is_append(expr):  # xs.append(v) rebinds xs to xs + [v]: lists are values in script
            target, args = expr.children[0].children[0], call_args(expr.children[1], self)
            if len(args) != 1:
                raise self.error("append() takes one argument", expr)
            item = ListSV((self.expr(args[0]),))
            self.assign(target, self.binary("+", self.read_name(target), item, expr), expr)
            return None
        self.expr(expr)
        return None

    def stmt_pass_stmt(self, stmt):
        return None

    def stmt_assign(self, stmt):
        *targets, value_tree = stmt.children
        value = self.expr(value_tree)
        for target in targets:
            self.assign(target, value, stmt)
        return None

    def stmt_annassign(self, stmt):
        target, ann, value_tree = stmt.children
        declared = annotation_type(ann, self.sm)
        if value_tree is None:
            raise self.unsupported("a declaration without a value", stmt, "assign a value")
        value = self.expr(value_tree)
        got = type_of(value)
        if not assignable(declared, got):
            raise self.error(f"cannot assign {describe_type(got)} to {name_of(target)} declared as "
                             f"{describe_type(declared)}", value_tree)
        if not isinstance(value, Value) or value.type != declared:
            value = self.materialize(value, stmt, declared)
        self.assign(target, value, stmt)
        return None

    def stmt_augassign(self, stmt):
        target, op, value_tree = stmt.children
        if not (isinstance(target, Tree) and target.data == "name"):
            raise self.unsupported("augmented assignment to this target", target, "assign to a plain name")
        current = self.read_name(target)
        result = self.binary(str(op)[:-1], current, self.expr(value_tree), stmt)
        self.assign(target, result, stmt)
        return None

    def assign(self, target, value: SV, stmt) -> None:
        kind = target.data
        if kind == "name":
            name = str(target.children[0])
            if isinstance(value, Value) and value.name is None:
                value.name = name
            self.env[name] = value
        elif kind in ("tuple", "list"):
            items = self.unpack(value, len(target.children), target)
            for t, v in zip(target.children, items):
                self.assign(t, v, stmt)
        elif kind == "getattr":
            raise self.unsupported("assigning to an attribute", target,
                                   "module state is read-only in script; return the new value instead")
        elif kind == "getitem":
            raise self.unsupported("item assignment", target,
                                   "build a new tensor instead (e.g. with eager.where)")
        else:
            raise self.unsupported(f"assigning to {kind}", target)

    def unpack(self, value: SV, n: int, where) -> list:
        if isinstance(value, (TupleSV, ListSV)):
            items = list(value.items)
        elif isinstance(value, Value) and isinstance(value.type, TupleType):
            items = [self.s.add("prim::tuple_index", [value], {"index": i}, [t], self.where(where))
                     for i, t in enumerate(value.type.elems)]
        else:
            raise self.error(f"cannot unpack {describe_type(type_of(value))} into {n} names", where,
                             "only tuples and lists of known length can be unpacked")
        if len(items) != n:
            raise self.error(f"cannot unpack {len(items)} values into {n} names", where)
        return items

    def stmt_return_stmt(self, stmt):
        value = Const(None) if stmt.children[0] is None else self.expr(stmt.children[0])
        return self.do_return(value)

    def do_return(self, value: SV) -> str:
        self.env[RET] = value
        if self.loops:
            self.env[COND] = Const(False)
            self.env[RETURNED] = Const(True)
        return Exit.EXIT

    def stmt_break_stmt(self, stmt):
        self.innermost_loop(stmt, "break")
        self.env[COND] = Const(False)
        return Exit.EXIT

    def stmt_continue_stmt(self, stmt):
        loop = self.innermost_loop(stmt, "continue")
        self.env[COND] = self.loop_condition(loop)
        return Exit.EXIT

    def innermost_loop(self, stmt, what: str) -> dict:
        if not self.loops:
            raise self.error(f"'{what}' outside a loop", stmt)
        return self.loops[-1]

    def loop_condition(self, loop: dict) -> SV:
        return Const(True) if loop["cond"] is None else self.to_bool(self.expr(loop["cond"]), loop["cond"])

    def stmt_End(self, stmt):  # noqa: N802 - dispatched by the marker's data name
        """The end of a function or loop body: fall off the end."""
        if self.loops:
            self.env[COND] = self.loop_condition(self.loops[-1])
            return Exit.EXIT
        return self.do_return(Const(None))

    def stmt_ReturnValue(self, stmt):  # noqa: N802
        return self.do_return(stmt.value)

    def stmt_Bind(self, stmt):  # noqa: N802
        self.assign(stmt.target, stmt.value, stmt.target)
        return None

    def stmt_raise_stmt(self, stmt):
        exc = stmt.children[0]
        self.s.add("prim::raise", [], {"message": self.exception_message(exc)}, [], self.where(stmt))
        return Exit.RAISE

    def exception_message(self, exc) -> str:
        if exc is None:
            return "Exception"
        if isinstance(exc, Tree) and exc.data == "call":
            name = dotted_name(exc.children[0]) or "Exception"
            args = call_args(exc.children[1])
            texts = []
            for a in args:
                v = self.expr(a)
                if not isinstance(v, Const):
                    raise self.unsupported("an exception message computed at run time", a,
                                           "use a string literal")
                texts.append(str(v.value))
            return f"{name}: {', '.join(texts)}" if texts else name
        return dotted_name(exc) or "Exception"

    def stmt_assert_stmt(self, stmt):
        cond_tree, msg_tree = stmt.children
        cond = self.to_bool(self.expr(cond_tree), cond_tree)
        message = "AssertionError"
        if msg_tree is not None:
            msg = self.expr(msg_tree)
            if not isinstance(msg, Const):
                raise self.unsupported("an assert message computed at run time", msg_tree, "use a string literal")
            message += f": {msg.value}"
        if isinstance(cond, Const):
            if not cond.value:
                self.s.add("prim::raise", [], {"message": message}, [], self.where(stmt))
                return Exit.RAISE
            return None
        then_block, else_block = Block(), Block()
        self.in_block(then_block, lambda: self.s.add("prim::raise", [], {"message": message}, [],
                                                      self.where(stmt)))
        not_cond = self.s.add("prim::not", [cond], None, [BoolType()], self.where(stmt))
        self.s.add("prim::if", [not_cond], None, [], self.where(stmt), blocks=[then_block, else_block])
        self.refine(cond_tree, True)
        return None

    # ---- if ----------------------------------------------------------------------------------
    def stmt_if_stmt(self, stmt):
        return self.if_stmt(stmt, None)

    def if_stmt(self, stmt, rest: list | None = None) -> str:
        """`if`/`elif`/`else`; with `rest` (the statements after it) pushed into every branch
        when a branch can exit."""
        cond_tree, then_suite, *elifs, else_suite = stmt.children
        else_stmts = suite_stmts(else_suite) if else_suite is not None else []
        for clause in reversed(elifs):  # elif chains are nested ifs in the else branch
            nested = Tree("if_stmt", [clause.children[0], clause.children[1], Tree("suite", else_stmts)],
                          meta=clause.meta)
            else_stmts = [nested]
        return self.branch(cond_tree, suite_stmts(then_suite), else_stmts, stmt, rest)

    def branch(self, cond_tree, then_stmts: list, else_stmts: list, stmt, rest: list | None,
               cond: SV | None = None) -> str:
        if cond is None:
            cond = self.to_bool(self.expr(cond_tree), cond_tree)
        tail = list(rest) if rest is not None else []
        if isinstance(cond, Const):  # decided at compile time: compile the taken branch only
            if cond.value:
                self.refine(cond_tree, True)
            else:
                self.refine(cond_tree, False)
            return self.stmts((then_stmts if cond.value else else_stmts) + tail)
        before = dict(self.env)
        results = []
        for stmts, truth in ((then_stmts, True), (else_stmts, False)):
            block = Block()
            self.env = dict(before)

            def run(stmts=stmts, truth=truth):
                self.refine(cond_tree, truth)
                return self.stmts(stmts + tail)
            state = self.in_block(block, run)
            results.append((block, state, self.env))
        self.env = before
        return self.merge(cond, results, before, stmt)

    def in_block(self, block: Block, body: Callable):
        saved = self.s.block
        self.s.block = block
        try:
            return body()
        finally:
            self.s.block = saved

    def merge(self, cond: Value, results: list, before: dict, stmt) -> str:
        """Emit the prim::if for two compiled branches and bind the merged names."""
        (b0, st0, _), (b1, st1, _) = results
        live = [(b, env) for b, st, env in results if st != Exit.RAISE]
        if not live:
            self.s.add("prim::if", [cond], None, [], self.where(stmt), blocks=[b0, b1])
            return Exit.RAISE
        state = Exit.EXIT if Exit.EXIT in (st0, st1) else Exit.FALL
        names = self.merged_names(before, [env for _, env in live], state)
        branches = [(b, env, st) for b, st, env in results]
        outputs = [(name, self.merge_name(name, branches, stmt)) for name in names]
        out_types = [t for _, (t, _) in outputs]
        for i, block in enumerate((b0, b1)):
            block.returns = [vals[i] for _, (_, vals) in outputs]
        node = self.s.add("prim::if", [cond], None, out_types, self.where(stmt), blocks=[b0, b1])
        outs = [node] if len(out_types) == 1 else (node.outputs if out_types else [])
        env = dict(before)
        for (name, _), value in zip(outputs, outs):
            value.name = name.lstrip("$")
            env[name] = value
        for name in self.only_some(before, [e for _, e in live], names):
            env[name] = Undefined(f"{name} is not defined on every path through the if", self.loc(stmt))
        for name in names_same(before, [e for _, e in live], names):
            env[name] = live[0][1][name]
        self.env = env
        return state

    def merged_names(self, before: dict, envs: list, state: str) -> list:
        if state == Exit.EXIT:
            live = self.live_at_exit()
            return [n for n in live if any(n in e for e in envs)]
        keys = [k for k in envs[0] if all(k in e for e in envs) and not k.startswith("$")]
        return [k for k in keys if _needs_output(before, k, [e[k] for e in envs])]

    def only_some(self, before: dict, envs: list, merged: list) -> list:
        every = set.union(*(set(e) for e in envs))
        return [k for k in every if k not in merged and not all(k in e for e in envs) and not k.startswith("$")]

    def live_at_exit(self) -> list:
        if self.loops:
            return [COND] + list(self.loops[-1]["live"])
        return [RET]

    def merge_name(self, name: str, branches: list, stmt) -> tuple:
        """(type, [value in block0, value in block1]) for one merged name."""
        present = [env[name] for _, env, st in branches if st != Exit.RAISE and name in env]
        types = [type_of(v) for v in present]
        if any(isinstance(v, Undefined) for v in present):
            bad = next(v for v in present if isinstance(v, Undefined))
            raise ScriptError(bad.reason, bad.loc or self.loc(stmt))
        if any(t is None for t in types):
            raise self.error(f"{pretty(name)} refers to a module or function on some path; it must be the same "
                             "on every path", stmt)
        merged = types[0]
        for t in types[1:]:
            joined = join(merged, t)
            if joined is None:
                raise self.branch_type_error(name, merged, t, stmt)
            merged = joined
        values = []
        for block, env, st in branches:
            if st == Exit.RAISE or name not in env:
                values.append(self.in_block(block, lambda: self.placeholder(merged, stmt)))
            else:
                values.append(self.in_block(block, lambda v=env[name]: self.materialize(v, stmt, merged)))
        return merged, values

    def branch_type_error(self, name: str, a: IRType, b: IRType, stmt) -> ScriptError:
        da, db = describe_type(a), describe_type(b)
        if da == db:
            da, db = str(a), str(b)
        if name == RET:
            return self.error(f"the function returns {da} on one path and {db} on another", stmt,
                              "return the same type on every path (use Optional[...] for None)")
        return self.error(f"{pretty(name)} is {da} on one branch and {db} on the other", stmt,
                          f"give {pretty(name)} one type on every path (annotate it, e.g. as Optional[Tensor])")

    # ---- values ------------------------------------------------------------------------------
    def materialize(self, sv: SV, where, as_type: IRType | None = None) -> Value:
        """A run-time value for `sv` in the current block (constants become prim::constant)."""
        loc = self.where(where) if not isinstance(where, str) else where
        if isinstance(sv, Value):
            return sv
        if isinstance(sv, Const):
            t = const_type(sv.value)
            if t is None:
                raise self.error(f"{sv.value!r} has no run-time form in script", where)
            if isinstance(as_type, (OptionalType, FloatType)) and not isinstance(t, type(as_type)):
                if isinstance(as_type, FloatType) and isinstance(t, IntType):
                    return self.s.add("prim::constant", [], {"value": float(sv.value)}, [FloatType()], loc)
                t = as_type
            return self.s.add("prim::constant", [], {"value": sv.value}, [t], loc)
        if isinstance(sv, TupleSV):
            elems = as_type.elems if isinstance(as_type, TupleType) else [None] * len(sv.items)
            items = [self.materialize(i, where, t) for i, t in zip(sv.items, elems)]
            return self.s.add("prim::tuple_construct", items, None, [TupleType(tuple(i.type for i in items))], loc)
        if isinstance(sv, ListSV):
            elem = as_type.elem if isinstance(as_type, ListType) else None
            items = [self.materialize(i, where, elem) for i in sv.items]
            list_type = as_type if isinstance(as_type, ListType) else type_of(sv)
            return self.s.add("prim::list_construct", items, None, [list_type], loc)
        if isinstance(sv, Undefined):
            raise ScriptError(sv.reason, sv.loc or self.loc(where))
        raise self.error("a module or function cannot be used as a value", where,
                         "call it, or read one of its attributes")

    def placeholder(self, t: IRType, where) -> Value:
        """Some value of type `t` for a path that never uses it (a raising or exited branch)."""
        loc = self.where(where)
        if isinstance(t, TensorType):
            zero = self.s.add("prim::constant", [], {"value": 0}, [IntType()], loc)
            return self.s.add("prim::scalar_tensor", [zero], {"dtype": t.dtype or _default_float()}, [t], loc)
        if isinstance(t, TupleType):
            return self.s.add("prim::tuple_construct", [self.placeholder(e, where) for e in t.elems], None, [t], loc)
        if isinstance(t, ListType):
            return self.s.add("prim::list_construct", [], None, [t], loc)
        defaults = {IntType: 0, FloatType: 0.0, BoolType: False, StrType: "", NoneType: None, OptionalType: None}
        return self.s.add("prim::constant", [], {"value": defaults[type(t)]}, [t], loc)

    # ---- Optional refinement -----------------------------------------------------------------
    def refine(self, cond_tree, truth: bool) -> None:
        """Narrow names on a branch: `x is not None` makes x non-Optional where it holds."""
        if cond_tree is None:
            return
        kind = cond_tree.data
        if kind == "not_expr":
            self.refine(cond_tree.children[0], not truth)
        elif kind == "and_expr" and truth or kind == "or_expr" and not truth:
            for child in cond_tree.children:
                self.refine(child, truth)
        elif kind == "compare" and len(cond_tree.children) == 3:
            left, op, right = cond_tree.children
            ops = " ".join(str(t) for t in op.children)
            if ops in ("is", "is not") and isinstance(right, Tree) and right.data == "const_none" \
                    and left.data == "name":
                not_none = truth if ops == "is not" else not truth
                self.narrow(str(left.children[0]), not_none, cond_tree)

    def narrow(self, name: str, not_none: bool, where) -> None:
        value = self.env.get(name)
        if not isinstance(value, Value) or not isinstance(value.type, OptionalType):
            return
        if not_none:
            self.env[name] = self.s.add("prim::unwrap_optional", [value], None, [value.type.elem], self.where(where),
                                        name=name)
        else:
            self.env[name] = Const(None)



def _all_same(values: list) -> bool:
    first = values[0]
    return all(v is first or (isinstance(v, Const) and isinstance(first, Const) and type(v.value) is type(
        first.value) and v.value == first.value) for v in values)


def names_same(before: dict, envs: list, merged: list) -> list:
    """Names bound to the same thing on every path that need no if output (kept as they are)."""
    keys = [k for k in envs[0] if all(k in e for e in envs)]
    return [k for k in keys if k not in merged and not k.startswith("$") and _all_same([e[k] for e in envs])]


def _needs_output(before: dict, name: str, values: list) -> bool:
    """Whether a name assigned in the branches must become an output of the if."""
    if isinstance(values[0], Undefined):
        return False
    if _all_same(values) and (name in before and values[0] is before[name] or isinstance(
            values[0], (Const, ModuleRef, Callee))):
        return False
    return True


def _closure_vars(fn) -> dict:
    try:
        return dict(inspect.getclosurevars(fn).nonlocals)
    except (TypeError, ValueError):
        return {}


def _default_float():
    from eager.dtypes import default_float

    return default_float


def compile_function(session: Session, fn: Callable, bound: SV | None, args: list, kwargs: dict, loc: SourceLoc):
    """Compile a call of `fn` inline at the session's current block; the SV it returns."""
    if fn in session.call_stack:
        raise ScriptError(f"recursive call of {fn.__qualname__} is not supported in script", loc,
                          "rewrite the recursion as a loop")
    tree, source_map = parse_function(fn)
    fc = FunctionCompiler(session, fn, tree, source_map)
    params = fc.signature()
    if bound is not None:
        if not params:
            raise ScriptError(f"{fn.__qualname__} takes no self argument", loc)
        fc.env[params[0][0]] = bound
        params = params[1:]
    fc.bind_arguments(params, args, kwargs, loc)
    session.call_stack.append(fn)
    try:
        return fc.compile_body()
    finally:
        session.call_stack.pop()




def _default_sv(value) -> SV | None:
    if const_type(value) is not None:
        return Const(value)
    if isinstance(value, tuple) and all(const_type(v) is not None for v in value):
        return TupleSV(tuple(Const(v) for v in value))
    return None
