"""Compiler-style diagnostics for the script compiler.

Every error points at the user's real file:

    model.py:12:13: error: lambda is not supported in script
            y = lambda v: v + 1
                ^~~~~~~~~~~~~~~
    hint: use trace for this function
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLoc:
    """A position in the user's file: 1-based line and column, plus the end column on that line."""

    filename: str
    line: int
    col: int
    end_col: int | None = None
    source_line: str = ""

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.col}"

    @property
    def short(self) -> str:
        """`file.py:12`: the form IR nodes carry in `loc`."""
        return f"{self.filename.rsplit('/', 1)[-1]}:{self.line}"


UNKNOWN_LOC = SourceLoc("<unknown>", 0, 0)


class ScriptError(Exception):
    """A program outside the script language, or ill-typed; raised before anything runs."""

    def __init__(self, message: str, loc: SourceLoc = UNKNOWN_LOC, hint: str | None = None) -> None:
        self.message = message
        self.loc = loc
        self.hint = hint
        super().__init__(format_diagnostic(message, loc, hint))


def format_diagnostic(message: str, loc: SourceLoc, hint: str | None) -> str:
    """`file:line:col: error: message`, the source line, a caret under the construct, the hint."""
    lines = [f"{loc}: error: {message}"]
    if loc.source_line:
        text = loc.source_line.rstrip("\n").expandtabs(1)
        lines.append(f"    {text}")
        width = 1
        if loc.end_col is not None and loc.end_col > loc.col:
            width = min(loc.end_col, len(text) + 1) - loc.col
        lines.append("    " + " " * (loc.col - 1) + "^" + "~" * max(width - 1, 0))
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)


def unsupported(what: str, loc: SourceLoc, hint: str | None = None) -> ScriptError:
    """The standard error for a construct outside the language."""
    return ScriptError(f"{what} is not supported in script", loc, hint)
