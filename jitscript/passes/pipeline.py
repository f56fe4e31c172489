"""The default optimization pipeline: one readable list of named passes, verified after each."""
from __future__ import annotations

from collections.abc import Callable

from ..ir import Graph, IRError, clone_block
from ..module import ScriptModule
from ..verify import verify
from .constant_fold import fold_constants, fold_static_sizes
from .cse import eliminate_common_subexpressions
from .dce import eliminate_dead_code
from .fold_batchnorm import fold_batchnorm
from .fold_layout import fold_layout
from .fold_scale import fold_scales
from .fuse import fuse_elementwise
from .fuse_activation import fuse_activations
from .inline import inline_calls
from .shape_inference import infer_shapes
from .simplify import simplify
from .split_linear import split_linears

DEFAULT_PIPELINE: list[tuple[str, Callable[[Graph], Graph]]] = [
    ("inline", inline_calls),
    ("fold_batchnorm", fold_batchnorm),
    ("constant_fold", fold_constants),
    ("fold_static_sizes", fold_static_sizes),
    ("simplify", simplify),
    ("cse", eliminate_common_subexpressions),
    ("dce", eliminate_dead_code),
    ("infer_shapes", infer_shapes),
    ("split_linear", split_linears),
    ("fold_scale", fold_scales),  # after split_linear: the scale goes into the Q projection alone
    ("fold_layout", fold_layout),  # needs the operand ranks infer_shapes gives
    ("fuse_activation", fuse_activations),  # before `fuse`, which would group a lone activation
    ("fuse", fuse_elementwise),
]


def copy_graph(graph: Graph) -> Graph:
    """A deep copy of the IR (the parameter tensors themselves are shared)."""
    mapping: dict = {}
    return Graph(clone_block(graph.block, mapping), dict(graph.params))


def optimize(module: ScriptModule, passes: list[tuple[str, Callable]] | None = None) -> ScriptModule:
    """A new ScriptModule with `passes` (default: DEFAULT_PIPELINE) applied to a copy of `module`'s
    graph; the verifier runs after every pass and an error names the pass that broke the graph."""
    graph = copy_graph(module.graph)
    verify(graph)
    for name, run in passes if passes is not None else DEFAULT_PIPELINE:
        run(graph)
        try:
            verify(graph)
        except IRError as exc:
            raise IRError(f"after pass {name!r}: {exc}") from exc
    return ScriptModule(graph, module.name, module.source)
