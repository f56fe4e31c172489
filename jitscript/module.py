"""`ScriptModule`: a graph plus its parameters, callable like the module it came from."""
from __future__ import annotations

from .interpreter import Interpreter, as_tensor
from .ir import Graph


class ScriptModule:
    """A compiled model: `graph` (the typed IR), `graph.params` (the tensors it reads), callable.

    Produced by `jitscript.trace` and `jitscript.script`; consumed by the passes, the exporter
    and the interpreter. Parameters are the source module's own tensors (shared, not copied)
    until the module is saved or moved with `to`.
    """

    def __init__(self, graph: Graph, name: str = "forward", source: str | None = None) -> None:
        self.graph = graph
        self.name = name
        self.source = source  # the Python source it was compiled from (script), if any

    def __call__(self, *args):
        """Run the graph on `args` with the IR interpreter; one output, or a tuple of them."""
        from .tracer import current_tracer

        tracer = current_tracer()
        if tracer is not None:
            outs = tracer.inline_graph(self.graph, args, self.name)
        else:
            outs = Interpreter(self.graph).run(*args)
        return outs[0] if len(outs) == 1 else tuple(outs)

    forward = __call__

    @property
    def code(self) -> str:
        """The graph's text form (the same text `jitscript.ir.parse` reads)."""
        return str(self.graph)

    def parameters(self) -> list:
        """The graph's parameter tensors, in name order."""
        return [as_tensor(self.graph.params[k]) for k in sorted(self.graph.params)]

    def to(self, device: str) -> ScriptModule:
        """Move every parameter to `device` ("cpu" or "cuda"), in place; returns self."""
        self.graph.params = {k: as_tensor(v).to(device) for k, v in self.graph.params.items()}
        return self

    def __repr__(self) -> str:
        return f"ScriptModule({self.name}, {len(self.graph.inputs)} input(s), {len(self.graph.params)} param(s))"
