"""The model zoo: small models covering the layer kinds and control flow the stack must handle.

Each `ZooEntry` builds a seeded model in eval mode and makes fresh example inputs at any batch
size. The jitscript, export and runtime tests all iterate `ZOO`:

    from tests.models import ZOO
    for entry in ZOO:
        model = entry.build()
        inputs = entry.inputs(batch=4)

`traceable`: `jitscript.trace` reproduces the model on any input of the traced shapes (with
`dynamic_batch=True` at any batch size). `scriptable`: `forward` is written in the script subset
(control flow that depends on data stays control flow). `needs_ops` lists registry ops the model
uses beyond the eager core, so suites can skip cleanly while those land.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eager.ops.registry import REGISTRY


@dataclass(frozen=True)
class ZooEntry:
    """One zoo model: how to build it and make inputs, and which front-ends it supports."""

    name: str
    build: Callable  # () -> eager.nn.Module, seeded, in eval mode
    inputs: Callable  # (batch: int) -> tuple of tensors, freshly random each call
    traceable: bool
    scriptable: bool
    needs_ops: tuple = ()
    rtol: float = 1e-5
    atol: float = 1e-5

    def missing_ops(self) -> list[str]:
        """The ops in `needs_ops` the registry does not have (yet)."""
        return [op for op in self.needs_ops if op not in REGISTRY]


def _entries() -> list[ZooEntry]:
    from . import cnn, if_model, loop_model, mlp, residual, rnn, transformer

    return [mlp.ENTRY, cnn.ENTRY, residual.ENTRY, transformer.ENTRY, rnn.LSTM_ENTRY, rnn.GRU_LOOP_ENTRY,
            if_model.ENTRY, loop_model.ENTRY]


ZOO: list[ZooEntry] = _entries()


def get(name: str) -> ZooEntry:
    """The zoo entry called `name`."""
    for entry in ZOO:
        if entry.name == name:
            return entry
    raise KeyError(f"no zoo model {name!r}; the zoo has {[e.name for e in ZOO]}")
