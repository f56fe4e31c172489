"""The lark frontend: the grammar reads the Python subset (and the constructs the compiler
rejects), positions map back to the user's file, syntax errors are located."""
from __future__ import annotations

import inspect

import pytest

from jitscript.diagnostics import ScriptError
from jitscript.frontend import SourceMap, parse_function, parse_source, parser


class Holder:
    class Inner:
        def method(self, x):
            y = x + 1
            return y


def test_parser_is_built_once_per_process():
    assert parser() is parser()


def test_method_positions_map_to_the_file():
    tree, source_map = parse_function(Holder.Inner.method)
    first = inspect.getsourcelines(Holder.Inner.method)[1]
    assign = tree.children[3].children[0]
    loc = source_map.loc_of(assign)
    assert (loc.line, loc.col) == (first + 1, 13)
    assert loc.source_line.strip() == "y = x + 1"
    assert loc.filename == __file__


SNIPPET = '''def f(self, x: Optional[Tensor] = None, *args, **kw) -> Tuple[Tensor, int]:
    """doc"""
    if x.sum() > 0 and not (x is None) or 1 < n <= 3:
        y = x[0, 1:3, ::2] @ self.w.T
    elif n:
        y = [a for a in x]
    else:
        y = lambda v: -v ** 2 // 3
    for i, (a, b) in enumerate(pairs):
        y += a if b else {1: 2}
    while True:
        break
    try:
        pass
    except ValueError as e:
        raise ValueError("bad") from e
    with ctx() as c:
        del c
    assert x is not None, "msg"
    return (y, 0x1F) ; pass
'''


def test_the_grammar_reads_supported_and_rejected_constructs():
    tree = parse_source(SNIPPET, SourceMap("snippet.py", 1, 0, tuple(SNIPPET.splitlines(True))))
    kinds = {t.data for t in tree.iter_subtrees()}
    assert {"funcdef", "if_stmt", "elif_clause", "for_stmt", "while_stmt", "try_stmt", "with_stmt", "lambdef",
            "listcomp", "dict", "compare", "and_expr", "or_expr", "not_expr", "ifexp", "slice", "subscript_tuple",
            "augassign", "assert_stmt", "raise_stmt", "del_stmt", "starparam", "kwparam"} <= kinds


def test_a_syntax_error_is_located():
    source = "def f(x):\n    return x +\n"
    with pytest.raises(ScriptError) as info:
        parse_source(source, SourceMap("bad.py", 10, 4, tuple([""] * 9 + ["    def f(x):\n", "        return x +\n"])))
    err = info.value
    assert err.message == "invalid syntax"
    assert (err.loc.filename, err.loc.line) == ("bad.py", 11)
    assert str(err).startswith("bad.py:11:")
