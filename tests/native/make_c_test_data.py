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
from eager import nn
from tests.export import graphs
from tests.models import get

DATA_DIR = Path(__file__).resolve().parents[2] / "native_runtime" / "tests" / "data"


class NestedAttrs(nn.Module):
    """Small, with nested-tuple attributes: conv2d padding pairs and getitem index terms."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return y[:, 0, 1:3] + y[:, 1, None, 0]


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
    # traced, optimized zoo models: fused groups reading a model input (loop_model); getitem
    # index terms and other nested-tuple attributes (lstm)
    eager.manual_seed(0)
    nested = NestedAttrs().eval()
    for p in nested.parameters():
        p.requires_grad = False
    x = eager.randn(2, 1, 4, 4)
    write_case("nested_attrs", jitscript.optimize(jitscript.trace(nested, (x,), dynamic_batch=True)), (x.numpy(),))
    for name in ("loop_model", "lstm"):
        entry = get(name)
        model = entry.build()
        for p in model.parameters():
            p.requires_grad = False
        traced = jitscript.optimize(jitscript.trace(model, entry.inputs(3), dynamic_batch=True))
        write_case(f"{name}_traced", traced, tuple(t.numpy() for t in entry.inputs(3)))
    print(f"wrote {len(list(DATA_DIR.iterdir()))} files to {DATA_DIR}")


if __name__ == "__main__":
    main()
