"""Grad mode: whether ops record the tape (`no_grad`, `enable_grad`, `set_grad_enabled`)."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True


STATE = _State()


def is_grad_enabled() -> bool:
    """True when new ops record gradients."""
    return STATE.enabled


class set_grad_enabled:  # noqa: N801 - PyTorch's name
    """Context manager (and function) that turns gradient recording on or off."""

    def __init__(self, mode: bool) -> None:
        self.prev = STATE.enabled
        self.mode = bool(mode)
        STATE.enabled = self.mode

    def __enter__(self) -> None:
        STATE.enabled = self.mode

    def __exit__(self, *exc) -> None:
        STATE.enabled = self.prev


class _GradModeContext:
    mode = True

    def __enter__(self) -> None:
        self.prev = STATE.enabled
        STATE.enabled = self.mode

    def __exit__(self, *exc) -> None:
        STATE.enabled = self.prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):  # noqa: N801
    """Disable gradient recording inside the block (also usable as a decorator)."""

    mode = False


class enable_grad(_GradModeContext):  # noqa: N801
    """Enable gradient recording inside the block (also usable as a decorator)."""

    mode = True
