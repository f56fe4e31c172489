"""Write the C runtime's test models and golden vectors into native_runtime/tests/data/.

    python3 -m tests.native.make_c_test_data

The C tests (ctest) read these files, so they run without Python; re-run this after a format
change. Each model `NAME.esm` comes with `NAME.in<i>.npy` inputs and `NAME.out<j>.npy` outputs
computed by the IR interpreter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import eager
import export
import jitscript
from tests.export import graphs
from tests.models import get

DATA_DIR = Path(__file__).resolve().parents[2] / "native_runtime" / "tests" / "data"


def interpreter_outputs(module, args) -> list[np.ndarray]:
    """The IR interpreter's outputs of `module` on NumPy arrays / Python scalars."""
    out = module(*[eager.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
    return [t.detach().numpy() for t in (out if isinstance(out, tuple) else (out,))]


def write_case(name: str, module, args: tuple, data_dir: Path = DATA_DIR) -> None:
    """`name`.esm plus its inputs and the interpreter's outputs as .npy files."""
    data_dir.mkdir(parents=True, exist_ok=True)
    export.save(module, data_dir / f"{name}.esm")
    for i, a in enumerate(args):
        np.save(data_dir / f"{name}.in{i}.npy", np.asarray(a))
    for j, out in enumerate(interpreter_outputs(module, args)):
        np.save(data_dir / f"{name}.out{j}.npy", out)


def main() -> None:
    for name, make in graphs.MODELS.items():
        write_case(name, make(), graphs.example_inputs(name, 3))
    x, _, n = graphs.example_inputs("control_flow", 3)
    write_case("control_flow_else", graphs.control_flow(), (x, False, n))
    # a traced, optimized zoo model: fused groups that read a model input directly
    entry = get("loop_model")
    traced = jitscript.optimize(jitscript.trace(entry.build(), entry.inputs(3), dynamic_batch=True))
    write_case("loop_model_traced", traced, tuple(t.numpy() for t in entry.inputs(3)))
    print(f"wrote {len(list(DATA_DIR.iterdir()))} files to {DATA_DIR}")


if __name__ == "__main__":
    main()
