"""Memory planning: give every intermediate tensor an offset in one arena so that tensors whose
lifetimes overlap never share bytes; greedy by size (largest first, lowest free offset), as
TFLite Micro's greedy planner.

Lifetimes are positions in the top-level block: a tensor lives from the node that defines it to
its last use (a use inside a nested block counts at the node owning the block, so loop-carried
and branch values stay alive for the whole `if`/`loop`). Values inside a `prim::fused` block are
never materialized and get no memory; graph inputs and parameters are the caller's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import Graph, Node, Value
from ..types import TensorType

ALIGNMENT = 64  # bytes; matches the weight alignment of the .esm file


@dataclass
class MemoryPlan:
    """Where each planned tensor lives: `offsets[value]` in an arena of `arena_size` bytes."""

    offsets: dict[Value, int] = field(default_factory=dict)
    sizes: dict[Value, int] = field(default_factory=dict)
    lifetimes: dict[Value, tuple[int, int]] = field(default_factory=dict)
    arena_size: int = 0

    @property
    def unplanned_size(self) -> int:
        """Bytes needed if every tensor had its own buffer (what planning saves against)."""
        return sum(self.sizes.values())

    def describe(self) -> str:
        """A one-line summary: tensor count, arena size, size without reuse."""
        return (f"{len(self.offsets)} tensors, arena {self.arena_size} bytes "
                f"(without reuse: {self.unplanned_size} bytes)")


def tensor_bytes(t: TensorType, dims: dict[str, int]) -> int:
    """Bytes of a tensor of type `t` with its symbols bound by `dims`, rounded up to ALIGNMENT."""
    if t.shape is None or t.dtype is None:
        raise ValueError(f"memory planning needs known shapes; {t} has none (run shape inference)")
    count = 1
    for d in t.shape:
        if isinstance(d, str):
            if d not in dims:
                raise ValueError(f"memory planning: bind the symbolic dim {d!r} (dims={{{d!r}: ...}})")
            d = dims[d]
        count *= d
    size = count * t.dtype.itemsize
    return (size + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _lifetimes(graph: Graph) -> dict[Value, tuple[int, int]]:
    spans: dict[Value, list[int]] = {}
    end = len(graph.block.nodes)

    def touch(v: Value, at: int) -> None:
        if v in spans:
            spans[v][1] = max(spans[v][1], at)

    def visit(node: Node, at: int) -> None:
        for v in node.inputs:
            touch(v, at)
        for b in node.blocks:
            for inner in b.nodes:
                if node.op != "prim::fused":
                    define(inner, at)
                visit(inner, at)
            for v in b.returns:
                touch(v, at)

    def define(node: Node, at: int) -> None:
        if node.op in ("prim::param", "prim::constant"):
            return
        for v in node.outputs:
            if isinstance(v.type, TensorType):
                spans[v] = [at, at]

    for at, node in enumerate(graph.block.nodes):
        visit(node, at)
        define(node, at)
    for v in graph.outputs:
        touch(v, end)
    return {v: (a, b) for v, (a, b) in spans.items()}


def plan_memory(graph: Graph, dims: dict[str, int] | None = None) -> MemoryPlan:
    """The arena layout of `graph`'s intermediate tensors, symbols bound by `dims` (e.g. {"N": 8})."""
    plan = MemoryPlan()
    plan.lifetimes = _lifetimes(graph)
    plan.sizes = {v: tensor_bytes(v.type, dims or {}) for v in plan.lifetimes}
    placed: list[Value] = []
    for v in sorted(plan.lifetimes, key=lambda v: (-plan.sizes[v], plan.lifetimes[v])):
        plan.offsets[v] = _lowest_free_offset(plan, v, placed)
        placed.append(v)
        plan.arena_size = max(plan.arena_size, plan.offsets[v] + plan.sizes[v])
    return plan


def _lowest_free_offset(plan: MemoryPlan, v: Value, placed: list[Value]) -> int:
    start, stop = plan.lifetimes[v]
    busy = sorted((plan.offsets[p], plan.offsets[p] + plan.sizes[p]) for p in placed
                  if plan.lifetimes[p][0] <= stop and start <= plan.lifetimes[p][1])
    offset = 0
    for lo, hi in busy:
        if offset + plan.sizes[v] <= lo:
            break
        offset = max(offset, hi)
    return offset
