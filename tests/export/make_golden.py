"""Write the golden .esm files that the readers must keep reading (see export/schema/README.md).

    python3 -m tests.export.make_golden           # writes the golden files that are missing
    python3 -m tests.export.make_golden --force   # rewrites all (only on a deliberate major bump)

Existing files are kept byte for byte by default: they are what earlier writers produced.
Each `<name>.esm` comes with `<name>.graph.txt` (the IR text it holds) and `<name>.io.npz`
(inputs `in0`, `in1`, ... and the outputs `out0`, ... the model gives for them).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import eager
import export
from tests.export import graphs

GOLDEN_DIR = Path(__file__).parent / "golden"
# golden file stem -> the graphs.MODELS entry it holds
GOLDEN = {"mlp_v1": "mlp", "control_flow_v1": "control_flow", "fused_and_runtime_attrs_v1": "fused_and_runtime_attrs"}


def golden_inputs(model_name: str) -> tuple:
    """The example inputs of the golden file (batch 2), as stored in its .io.npz."""
    return graphs.example_inputs(model_name, 2)


def write(stem: str) -> Path:
    """Save one golden model with its IR text and an input/output pair."""
    model_name = GOLDEN[stem]
    module = graphs.MODELS[model_name]()
    path = GOLDEN_DIR / f"{stem}.esm"
    export.save(module, path, metadata={"purpose": "golden file: readers must keep reading it"})
    path.with_suffix(".graph.txt").write_text(str(module.graph))
    inputs = golden_inputs(model_name)
    outputs = module(*[eager.tensor(a) if isinstance(a, np.ndarray) else a for a in inputs])
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    arrays = {f"in{i}": np.asarray(a) for i, a in enumerate(inputs)}
    arrays |= {f"out{i}": o.numpy() for i, o in enumerate(outputs)}
    np.savez(path.with_suffix(".io.npz"), **arrays)
    return path


def main(argv: list[str]) -> None:
    """Write the missing golden files (all of them with --force)."""
    for stem in GOLDEN:
        if "--force" in argv or not (GOLDEN_DIR / f"{stem}.esm").exists():
            print(f"wrote {write(stem)}")


if __name__ == "__main__":
    main(sys.argv[1:])
