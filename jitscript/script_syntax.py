"""Shared pieces of the script compiler: statement markers, exit states, and parse-tree helpers."""
from __future__ import annotations

from lark import Tree

from .script_values import SV

MAX_TRIP_COUNT = 2**63 - 1
RET, COND, RETURNED = "$ret", "$cond", "$returned"
LOOP_STMTS = ("for_stmt", "while_stmt")
TRACE_HINT = "use trace for this function, or rewrite it in the script subset (docs/script.md)"

UNSUPPORTED_STMTS = {
    "try_stmt": ("try/except", "remove the try; errors raised in script stop the program"),
    "with_stmt": ("a with statement", TRACE_HINT),
    "del_stmt": ("del", "drop the name instead (reassign it or let it go out of use)"),
    "global_stmt": ("global", "pass the value as an argument"),
    "nonlocal_stmt": ("nonlocal", "pass the value as an argument"),
    "import_stmt": ("import inside a function", "import at module level"),
    "classdef": ("a class definition inside a function", "define the class at module level"),
    "funcdef": ("a nested function definition", "define the function at module level"),
    "decorated": ("a nested function definition", "define the function at module level"),
    "yield_stmt": ("yield (a generator function)", "return a list or tuple instead"),
}
UNSUPPORTED_EXPRS = {
    "lambdef": ("lambda", "define a function with def at module level and call it"),
    "generator": ("a generator expression", "write a for loop"),
    "listcomp": ("a list comprehension", "write a for loop that appends, or unroll it"),
    "setcomp": ("a set comprehension", TRACE_HINT),
    "dictcomp": ("a dict comprehension", TRACE_HINT),
    "dict": ("a dict literal", "use a tuple, or separate variables"),
    "set": ("a set literal", "use a tuple or a list"),
    "walrus": ("an assignment expression (:=)", "assign in its own statement"),
    "yield_expr": ("yield (a generator function)", "return a list or tuple instead"),
    "star_expr": ("a starred expression", "unpack into named variables"),
    "ellipsis": ("...", "spell the indices out"),
    "starred_arg": ("*args in a call", "pass the arguments one by one"),
    "kwargs_arg": ("**kwargs in a call", "pass keyword arguments by name"),
    "kwarg": ("a keyword argument here", None),
}


class Exit:
    """How a statement list ended: it fell through, exited (return/break/continue) or raised."""

    FALL, EXIT, RAISE = "fall", "exit", "raise"


# ---- statement markers (synthetic statements the compiler inserts) ---------------------------
class Marker:
    data = "marker"
    children: tuple = ()


class End(Marker):
    data = "End"


class ReturnValue(Marker):
    data = "ReturnValue"

    def __init__(self, value: SV) -> None:
        self.value = value


class Bind(Marker):
    data = "Bind"

    def __init__(self, target, value: SV) -> None:
        self.target = target
        self.value = value


# ---- syntax helpers --------------------------------------------------------------------------
def suite_stmts(suite) -> list:
    if suite is None:
        return []
    return [c for c in suite.children if isinstance(c, Tree)]


def param_list(params) -> list:
    if params is None:
        return []
    out = []
    for p in params.children:
        if p is None:
            continue
        out.append(p)
        if p.data == "starparam":
            out.extend(c for c in p.children[2:] if isinstance(c, Tree))
    return out


def call_args(arguments, compiler=None) -> list:
    if arguments is None:
        return []
    args = []
    for a in arguments.children:
        if isinstance(a, Tree) and a.data in ("kwarg", "starred_arg", "kwargs_arg", "generator") and compiler:
            what, hint = UNSUPPORTED_EXPRS[a.data]
            raise compiler.unsupported(what, a, hint)
        if a is not None:
            args.append(a)
    return args


def dotted_name(tree) -> str | None:
    if isinstance(tree, Tree) and tree.data == "name":
        return str(tree.children[0])
    if isinstance(tree, Tree) and tree.data == "getattr":
        head = dotted_name(tree.children[0])
        return None if head is None else f"{head}.{tree.children[1]}"
    return None


def is_append(expr) -> bool:
    return (isinstance(expr, Tree) and expr.data == "call" and expr.children[0].data == "getattr"
            and str(expr.children[0].children[1]) == "append" and expr.children[0].children[0].data == "name")


def name_of(target) -> str:
    return dotted_name(target) or "the target"


def pretty(name: str) -> str:
    return {RET: "the returned value", COND: "the loop condition", RETURNED: "the return flag"}.get(name, name)


def walk(stmts, stop_at_loops: bool):
    for s in stmts:
        if not isinstance(s, Tree):
            continue
        yield s
        if stop_at_loops and s.data in LOOP_STMTS:
            continue
        if s.data in ("funcdef", "classdef", "lambdef"):
            continue
        yield from walk(s.children, stop_at_loops)


def contains(stmts, kinds: tuple, stop_at_loops: bool = False) -> bool:
    return any(t.data in kinds for t in walk(stmts, stop_at_loops))


def may_exit(stmt, in_loop: bool) -> bool:
    if contains([stmt], ("return_stmt",)):
        return True
    return in_loop and contains(stmt.children, ("break_stmt", "continue_stmt"), stop_at_loops=True)


def assigned_names(stmts) -> set:
    names = set()
    for t in walk(stmts, stop_at_loops=False):
        if t.data in ("assign", "annassign", "augassign"):
            targets = t.children[:-1] if t.data == "assign" else t.children[:1]
            for target in targets:
                names |= target_names(target)
        elif t.data == "for_stmt":
            names |= target_names(t.children[0])
        elif t.data == "expr_stmt" and is_append(t.children[0]):
            names |= target_names(t.children[0].children[0].children[0])
    return names


def target_names(target) -> set:
    if isinstance(target, Tree) and target.data == "name":
        return {str(target.children[0])}
    if isinstance(target, Tree) and target.data in ("tuple", "list"):
        return set().union(*(target_names(c) for c in target.children))
    return set()
