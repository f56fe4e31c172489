"""Loops in the script compiler (a mixin of `FunctionCompiler`).

`while` and `for i in range(...)` / `for x in a_list` become a `prim::loop`: the carried values
are the names the body assigns that exist before the loop, their types widened until one more
compile of the body changes nothing; `break`, `continue` and `return` set the body's exit
values (see compiler.py). A loop over a sequence known at compile time (a ModuleList, a tuple)
is unrolled.
"""
from __future__ import annotations

import builtins

from lark import Tree

from .diagnostics import ScriptError
from .ir import Block, Value
from .script_syntax import (
    COND,
    MAX_TRIP_COUNT,
    RET,
    RETURNED,
    Bind,
    End,
    Exit,
    ReturnValue,
    assigned_names,
    call_args,
    contains,
    dotted_name,
    pretty,
    suite_stmts,
    walk,
)
from .script_values import (
    SV,
    Callee,
    Const,
    ListSV,
    ModuleRef,
    TupleSV,
    Undefined,
    describe_type,
    is_module_sequence,
    join,
    type_of,
)
from .types import BoolType, IntType, IRType, ListType, TensorType, TupleType


class LoopCompiler:
    """Loop methods; the host class provides env, expressions, materialize and the session `s`."""

    # ---- loops -------------------------------------------------------------------------------
    def loop_stmt(self, stmt, rest: list) -> str | None:
        """Compile a loop. Returns None when compilation goes on with `rest` as usual, or how
        the statement list ended when the loop consumed `rest` (unrolling, early return)."""
        if stmt.children[-1] is not None:
            raise self.unsupported(f"else on a {stmt.data.split('_')[0]} loop", stmt, "use a flag variable")
        if stmt.data == "while_stmt":
            cond_tree, suite, _ = stmt.children
            returned = self.emit_loop(stmt, suite_stmts(suite), cond_tree=cond_tree)
        else:
            target, iter_tree, suite, _ = stmt.children
            iterable = self.for_iterable(iter_tree)
            if iterable[0] == "unroll":
                return self.unroll(target, iterable[1], suite_stmts(suite), rest, stmt)
            returned = self.emit_loop(stmt, suite_stmts(suite), target=target, source=iterable)
        if returned is None:
            return None
        flag, value = returned
        return self.branch(None, [ReturnValue(value)], [], stmt, rest, cond=flag)

    def for_iterable(self, iter_tree) -> tuple:
        if isinstance(iter_tree, Tree) and iter_tree.data == "call":
            head = dotted_name(iter_tree.children[0])
            found = self.lookup_global(head, iter_tree) if head in ("range", "enumerate") else None
            if isinstance(found, Callee) and found.fn is getattr(builtins, head):
                args = [self.expr(a) for a in call_args(iter_tree.children[1], self)]
                if head == "range":
                    return ("range", self.range_args(args, iter_tree))
                seq = self.sequence_items(args[0], iter_tree) if len(args) == 1 else None
                if seq is None:
                    raise self.unsupported("enumerate over a run-time list", iter_tree, "use range(len(xs))")
                return ("unroll", [TupleSV((Const(i), item)) for i, item in enumerate(seq)])
        value = self.expr(iter_tree)
        items = self.sequence_items(value, iter_tree)
        if items is not None:
            return ("unroll", items)
        if isinstance(value, Value) and isinstance(value.type, ListType):
            n = self.s.add("prim::len", [value], None, [IntType()], self.where(iter_tree))
            return ("list", (value, n))
        if isinstance(value, Value) and isinstance(value.type, TensorType):
            raise self.unsupported("iterating over a tensor", iter_tree, "loop over range(x.size(0))")
        raise self.unsupported(f"iterating over {describe_type(type_of(value))}", iter_tree,
                               "iterate over range(...), a list, a tuple or a ModuleList")

    def sequence_items(self, value: SV, where) -> list | None:
        """The items of a sequence known at compile time (tuple/list literal, ModuleList)."""
        if isinstance(value, (TupleSV, ListSV)):
            return list(value.items)
        if isinstance(value, ModuleRef) and is_module_sequence(value.module):
            return [ModuleRef(m, f"{value.path}{k}.") for k, m in value.module._modules.items()]
        if isinstance(value, Value) and isinstance(value.type, TupleType):
            return self.unpack(value, len(value.type.elems), where)
        return None

    def range_args(self, args: list, where) -> tuple:
        for a in args:
            if not isinstance(type_of(a), (IntType, BoolType)):
                raise self.error(f"range() takes ints, got {describe_type(type_of(a))}", where)
        if len(args) == 1:
            return Const(0), args[0], 1
        if len(args) in (2, 3):
            step = args[2] if len(args) == 3 else Const(1)
            if not isinstance(step, Const) or step.value == 0:
                raise self.unsupported("a range step that is zero or not a constant", where, "use a constant step")
            return args[0], args[1], step.value
        raise self.error(f"range() takes 1 to 3 arguments, got {len(args)}", where)

    def unroll(self, target, items: list, body: list, rest: list, stmt) -> str:
        """A loop over a sequence known at compile time, unrolled: body, body, ..., rest."""
        for t in walk(body, stop_at_loops=True):
            if t.data in ("break_stmt", "continue_stmt"):
                what = "break" if t.data == "break_stmt" else "continue"
                raise self.unsupported(f"{what} inside a loop over a ModuleList or tuple", t,
                                       "such loops are unrolled; use an if around the loop body instead")
        expanded = []
        for item in items:
            expanded.append(Bind(target, item))
            expanded.extend(body)
        return self.stmts(expanded + rest)

    def emit_loop(self, stmt, body: list, cond_tree=None, target=None, source=None):
        """Emit a prim::loop; returns (returned flag, returned value) when the body can return."""
        assigned = assigned_names(body) | (assigned_names([target]) if target is not None else set())
        carried = [n for n in self.env if n in assigned and not isinstance(self.env[n], Undefined)
                   and not n.startswith("$")]
        can_return = contains(body, ("return_stmt",))
        trips, first = self.loop_bounds(stmt, cond_tree, source)
        types = {n: type_of(self.env[n]) for n in carried}
        for n in carried:
            if types[n] is None:
                raise self.error(f"{n} refers to a module or function and is reassigned in the loop", stmt)
        names = list(carried)
        for _attempt in range(4):  # widen the carried types until one more pass changes nothing
            block, end_env = self.loop_body(body, names, types, cond_tree, target, source, stmt, can_return)
            changed = False
            for n in names:
                got = type_of(end_env[n]) if n in end_env else types[n]
                widened = join(types[n], got) if got is not None else None
                if widened is None:
                    raise self.loop_type_error(n, types[n], got, stmt)
                changed |= widened != types[n]
                types[n] = widened
            if can_return and RET not in names and RET in end_env:
                names += [RETURNED, RET]
                types.update({RETURNED: BoolType(), RET: type_of(end_env[RET])})
                changed = True
            if not changed:
                break
        else:
            raise self.error("the types of the loop's variables do not settle", stmt)
        inits = [self.materialize(self.env[n], stmt, types[n]) for n in carried]
        if RET in names:
            inits += [self.materialize(Const(False), stmt, BoolType()), self.placeholder(types[RET], stmt)]
        node = self.s.add("prim::loop", [self.materialize(trips, stmt, IntType()),
                                         self.materialize(first, stmt, BoolType()), *inits], None,
                          [types[n] for n in names], self.where(stmt), blocks=[block])
        outs = [node] if len(names) == 1 else node.outputs
        saved = {n: self.env[n] for n in (RET, RETURNED) if n in self.env}
        for n, v in zip(names, outs):
            v.name = n.lstrip("$")
            self.env[n] = v
        for n in assigned - set(carried):
            if n not in self.env or isinstance(self.env[n], Undefined):
                self.env[n] = Undefined(f"{n} is assigned inside the loop only; assign it before the loop to use "
                                        "it after", self.loc(stmt))
        if RET not in names:
            return None
        flag, value = self.env.pop(RETURNED), self.env.pop(RET)
        self.env.update(saved)
        return flag, value

    def loop_bounds(self, stmt, cond_tree, source) -> tuple:
        """(max_trip_count, initial_cond) of a loop."""
        if source is None:
            return Const(MAX_TRIP_COUNT), self.to_bool(self.expr(cond_tree), cond_tree)
        if source[0] == "range":
            start, stop, step = source[1]
            return self.trip_count(start, stop, step, stmt), Const(True)
        return source[1][1], Const(True)

    def loop_body(self, body, names, types, cond_tree, target, source, stmt, can_return):
        block = Block()
        counter = block.add_param(IntType(), "i")
        params = [block.add_param(types[n], n.lstrip("$")) for n in names]
        saved_env = self.env
        self.env = dict(saved_env)
        for n, p in zip(names, params):
            self.env[n] = p
        live = names + ([RET, RETURNED] if can_return and RET not in names else [])
        self.loops.append({"cond": cond_tree, "live": live})
        try:
            def run():
                if target is not None:
                    self.assign(target, self.loop_item(counter, source, stmt), stmt)
                return self.stmts(list(body) + [End()])
            state = self.in_block(block, run)
            end_env = self.env if state != Exit.RAISE else dict(self.env, **{COND: Const(False)})
            block.returns = self.in_block(block, lambda: [
                self.materialize(end_env.get(COND, Const(True)), stmt, BoolType())] + [
                self.materialize(end_env[n], stmt, types[n]) if n in end_env and not isinstance(
                    end_env[n], Undefined) else self.placeholder(types[n], stmt) for n in names])
        finally:
            self.loops.pop()
            self.env = saved_env
        return block, end_env

    def loop_item(self, counter: Value, source: tuple, stmt) -> SV:
        if source[0] == "range":
            start, _, step = source[1]
            scaled = self.scalar_op("mul", counter, Const(step), stmt) if step != 1 else counter
            return self.scalar_op("add", start, scaled, stmt) if not (isinstance(start, Const)
                                                                    and start.value == 0) else scaled
        lst = source[1][0]
        return self.s.add("prim::list_index", [lst, counter], None, [lst.type.elem], self.where(stmt))

    def trip_count(self, start: SV, stop: SV, step: int, stmt) -> SV:
        if step > 0:
            span = self.scalar_op("sub", stop, start, stmt)
            n = self.scalar_op("floordiv", self.scalar_op("add", span, Const(step - 1), stmt), Const(step), stmt)
        else:
            span = self.scalar_op("sub", start, stop, stmt)
            n = self.scalar_op("floordiv", self.scalar_op("add", span, Const(-step - 1), stmt), Const(-step), stmt)
        return self.scalar_op("max", n, Const(0), stmt)

    def loop_type_error(self, name: str, before: IRType, after: IRType, stmt) -> ScriptError:
        if name == RET:
            return self.error(f"the loop returns {describe_type(before)} and {describe_type(after)}", stmt)
        return self.error(f"{pretty(name)} is {describe_type(before)} before the loop and {describe_type(after)} "
                          "after an iteration", stmt, f"keep {pretty(name)} one type in the loop")
