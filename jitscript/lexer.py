"""The tokenizer shared by the type parser and the IR text parser."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"""
    (?P<ws>[ \t]+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<value>%[A-Za-z0-9_.]+)
  | (?P<ref>\$[0-9]+)
  | (?P<number>-?(?:[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+|[0-9]+)(?![A-Za-z_]))
  | (?P<name>-?[A-Za-z_?][A-Za-z0-9_.:?]*)
  | (?P<arrow>->)
  | (?P<punct>[()\[\]{},:=])
""", re.VERBOSE)


class Token:
    """One token: its kind (a group name of `_TOKEN`), its text and its column."""

    __slots__ = ("kind", "text", "col")

    def __init__(self, kind: str, text: str, col: int) -> None:
        self.kind, self.text, self.col = kind, text, col

    def __repr__(self) -> str:
        return f"{self.kind}:{self.text!r}"


class TextError(ValueError):
    """Text (a type or an IR graph) that does not parse; names the line and column."""


def tokenize(line: str, lineno: int = 1) -> list[Token]:
    """The tokens of one line (whitespace dropped, a trailing `# ...` comment kept)."""
    tokens, pos = [], 0
    while pos < len(line):
        m = _TOKEN.match(line, pos)
        if m is None:
            raise TextError(f"line {lineno}, column {pos + 1}: unexpected character {line[pos]!r}")
        if m.lastgroup != "ws":
            tokens.append(Token(m.lastgroup, m.group(), pos))
        pos = m.end()
    return tokens


class Cursor:
    """A position in a token list with the small helpers a recursive-descent parser needs."""

    def __init__(self, tokens: list[Token], lineno: int = 1, line: str = "") -> None:
        self.tokens, self.pos, self.lineno, self.line = tokens, 0, lineno, line

    def peek(self, offset: int = 0) -> Token | None:
        """The token `offset` ahead, or None past the end."""
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def at(self, text: str) -> bool:
        """True when the next token is the name or punctuation `text`."""
        tok = self.peek()
        return tok is not None and tok.text == text and tok.kind in ("punct", "arrow", "name")

    def take(self, text: str | None = None, kind: str | None = None) -> Token:
        """Consume the next token, which must match `text`/`kind` (else a TextError)."""
        tok = self.peek()
        if tok is None or (text is not None and tok.text != text) or (kind is not None and tok.kind != kind):
            want = repr(text) if text is not None else kind
            self.fail(f"expected {want}, found {tok.text if tok else 'end of line'!r}")
        self.pos += 1
        return tok

    def accept(self, text: str) -> bool:
        """Consume the next token if it is `text`."""
        if self.at(text):
            self.pos += 1
            return True
        return False

    def done(self) -> bool:
        """True at the end of the line (a trailing comment counts as the end)."""
        return self.pos >= len(self.tokens) or self.tokens[self.pos].kind == "comment"

    def fail(self, message: str):
        """Raise a TextError at the current position."""
        tok = self.peek()
        col = tok.col + 1 if tok else len(self.line) + 1
        raise TextError(f"line {self.lineno}, column {col}: {message}: {self.line.strip()!r}")
