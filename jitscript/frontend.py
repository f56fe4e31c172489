"""The script frontend: the source of a function, parsed by lark into a tree with positions.

`parse_function(fn)` reads the source with `inspect.getsource`, dedents it, parses it with
the grammar in `grammar.lark` and returns the `funcdef` tree with a `SourceMap` that maps
tree positions (line/column in the dedented text) back to the user's real file.
"""
from __future__ import annotations

import functools
import inspect
import os
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput
from lark.indenter import PythonIndenter

from .diagnostics import ScriptError, SourceLoc

GRAMMAR_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grammar.lark")


class _Indenter(PythonIndenter):
    """Python's INDENT/DEDENT from leading whitespace; brackets suppress newlines."""

    NL_type = "_NEWLINE"
    OPEN_PAREN_types = ["LPAR", "LSQB", "LBRACE"]
    CLOSE_PAREN_types = ["RPAR", "RSQB", "RBRACE"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8


@functools.cache
def parser() -> Lark:
    """The LALR parser, built once per process (lark caches the tables on disk as well)."""
    with open(GRAMMAR_PATH, encoding="utf-8") as f:
        grammar = f.read()
    return Lark(grammar, parser="lalr", start="file_input", postlex=_Indenter(),
                propagate_positions=True, maybe_placeholders=True, cache=True)


@dataclass(frozen=True)
class SourceMap:
    """Maps positions in dedented source text back to the user's file."""

    filename: str
    first_line: int  # line number in the file of the dedented text's line 1
    indent: int  # columns removed by dedent
    file_lines: tuple

    def loc(self, line: int, col: int, end_line: int | None = None, end_col: int | None = None) -> SourceLoc:
        """The file location of a (line, col) in the dedented text (both 1-based)."""
        file_line = line + self.first_line - 1
        text = self.file_lines[file_line - 1] if 0 < file_line <= len(self.file_lines) else ""
        start = col + self.indent
        if end_col is not None and end_line == line:
            end = end_col + self.indent
        else:  # a construct over several lines: underline its first word (`if`, `for`, `try`)
            word = re.match(r"\w*", text[start - 1:]).group() if text else ""
            end = start + max(len(word), 1)
        return SourceLoc(self.filename, file_line, start, end, text)

    def loc_of(self, item: Tree | Token) -> SourceLoc:
        """The location of a tree node or token (the start, with the end column on one line)."""
        if isinstance(item, Token):
            return self.loc(item.line, item.column, item.end_line, item.end_column)
        meta = item.meta
        if getattr(meta, "empty", True):
            for child in item.children:
                if isinstance(child, (Tree, Token)):
                    return self.loc_of(child)
            return SourceLoc(self.filename, self.first_line, 1 + self.indent)
        return self.loc(meta.line, meta.column, meta.end_line, meta.end_column)


def parse_source(source: str, source_map: SourceMap) -> Tree:
    """Parse dedented `source`; a syntax error becomes a ScriptError at its file position."""
    if not source.endswith("\n"):
        source += "\n"
    try:
        return parser().parse(source)
    except UnexpectedInput as exc:
        line, col = getattr(exc, "line", 1), getattr(exc, "column", 1)
        raise ScriptError("invalid syntax", source_map.loc(max(line, 1), max(col, 1)),
                          "the script language is a subset of Python; see docs/script.md") from None


@functools.lru_cache(maxsize=256)
def _parse_cached(fn: Callable) -> tuple:
    try:
        lines, first_line = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or "<unknown>"
    except (OSError, TypeError):
        raise ScriptError(f"cannot read the source of {getattr(fn, '__qualname__', fn)!r}",
                          hint="script needs functions defined in a .py file; use trace instead") from None
    raw = "".join(lines)
    dedented = textwrap.dedent(raw)
    indent = _removed_indent(raw, dedented)
    file_lines = tuple(_file_lines(filename, lines, first_line))
    source_map = SourceMap(filename, max(first_line, 1), indent, file_lines)
    tree = parse_source(dedented, source_map)
    funcdef = _first_funcdef(tree)
    if funcdef is None:
        raise ScriptError(f"{getattr(fn, '__qualname__', fn)!r} is not a function definition",
                          source_map.loc(1, 1))
    return funcdef, source_map


def clear_parse_cache() -> None:
    """Forget parsed functions (after editing source files in a running process; benchmarks)."""
    _parse_cached.cache_clear()


def parse_function(fn: Callable) -> tuple[Tree, SourceMap]:
    """The `funcdef` tree of `fn` (decorators dropped) and its source map."""
    fn = inspect.unwrap(getattr(fn, "__func__", fn))
    return _parse_cached(fn)


def _removed_indent(raw: str, dedented: str) -> int:
    for a, b in zip(raw.splitlines(), dedented.splitlines()):
        if b.strip():
            return len(a) - len(b)
    return 0


def _file_lines(filename: str, lines: list, first_line: int) -> list:
    """All lines of the file when readable, else the function's own lines at their offsets."""
    import linecache

    all_lines = linecache.getlines(filename)
    if all_lines:
        return all_lines
    return [""] * (max(first_line, 1) - 1) + list(lines)


def _first_funcdef(tree: Tree) -> Tree | None:
    for child in tree.children:
        if isinstance(child, Tree):
            if child.data == "funcdef":
                return child
            if child.data == "decorated":
                return child.children[-1] if child.children[-1].data == "funcdef" else None
    return None
