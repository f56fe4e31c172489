"""User-facing errors: each names the op, the shapes involved and the user's source line."""
from __future__ import annotations

import os
import sys

_PACKAGE_ROOTS = tuple(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep + name + os.sep
    for name in ("eager", "jitscript", "export")
)


def user_location() -> str:
    """file:line of the innermost stack frame outside eagerscript's own packages."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_ROOTS):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


class OpError(ValueError):
    """A bad shape, dtype or argument given to an op."""

    def __init__(self, op: str, message: str, location: str | None = None) -> None:
        self.op = op
        self.location = location or user_location()
        super().__init__(f"{op}: {message} (at {self.location})")


def shapes_text(arrays) -> str:
    return ", ".join(str(tuple(a.shape)) if hasattr(a, "shape") else repr(a) for a in arrays)


class OpIndexError(OpError, IndexError):
    """An index out of range (an `IndexError`, as PyTorch raises, that also names the op)."""
