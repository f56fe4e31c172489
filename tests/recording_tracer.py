"""A stand-in for `jitscript.tracer.Tracer` that records what the dispatcher reports.

It implements the hooks eager code calls on `eager.ops.dispatch.TRACERS[-1]` without building
a graph, for tests of the eager side of that interface.
"""
from __future__ import annotations

from eager.ops.dispatch import OpObserver


class RecordingTracer(OpObserver):
    """Keeps every op call (`calls`) and every alias (`aliases`); sizes are plain ints."""

    def __init__(self) -> None:
        self.calls = []
        self.aliases = []

    def record(self, op, inputs, attrs, outputs) -> None:
        self.calls.append((op, inputs, attrs, outputs))

    def alias(self, new, old) -> None:
        self.aliases.append((new, old))
