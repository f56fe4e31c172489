"""A stand-in for `jitscript.tracer.Tracer` that records what the dispatcher reports.

It implements the hooks eager code calls on `eager.ops.dispatch.TRACERS[-1]` without building
a graph, for tests of the eager side of that interface.
"""
from __future__ import annotations


class RecordingTracer:
    """Keeps every op call (`calls`) and every alias (`aliases`); sizes are plain ints."""

    def __init__(self) -> None:
        self.calls = []
        self.aliases = []

    def record(self, op, inputs, attrs, outputs) -> None:
        self.calls.append((op, inputs, attrs, outputs))

    def alias(self, new, old) -> None:
        self.aliases.append((new, old))

    def size(self, tensor, dim):
        return tensor.data.shape if dim is None else tensor.data.shape[dim]

    def escape(self, tensor, what) -> None:
        pass

    def filled(self, tensor, fill, size) -> None:
        pass

    def scalar_tensor_of(self, tensor, number) -> None:
        pass
