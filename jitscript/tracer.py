"""The tracer: records one eager run as IR (see `trace`)."""
from __future__ import annotations

from eager.ops.dispatch import TRACERS


def current_tracer():
    """The innermost active jitscript tracer, or None when nothing is being traced.

    Hook for code that must cooperate with tracing (a `ScriptModule` called while tracing
    inlines its graph, control flow included, with `tracer.inline_graph(graph, args)`).
    """
    return TRACERS[-1] if TRACERS and hasattr(TRACERS[-1], "inline_graph") else None
