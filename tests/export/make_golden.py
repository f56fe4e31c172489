"""Re-generate the golden .esm file (only on a deliberate format version bump; see
export/schema/README.md):  python3 -m tests.export.make_golden"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import eager
import export
from tests.export import graphs

GOLDEN = Path(__file__).parent / "golden" / "mlp_v1.esm"
GOLDEN_TEXT = GOLDEN.with_suffix(".graph.txt")  # the IR text the file holds
GOLDEN_IO = GOLDEN.with_suffix(".io.npz")  # an input and the output the model gives for it


def main() -> None:
    """Write the MLP of tests/export/graphs.py as the golden file, with its text and an I/O pair."""
    module = graphs.mlp()
    export.save(module, GOLDEN, metadata={"purpose": "golden file: readers must keep reading it"})
    GOLDEN_TEXT.write_text(str(module.graph))
    x = graphs.example_inputs("mlp", 2)[0]
    np.savez(GOLDEN_IO, x=x, y=module(eager.tensor(x)).numpy())
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes), {GOLDEN_TEXT.name}, {GOLDEN_IO.name}")


if __name__ == "__main__":
    main()
