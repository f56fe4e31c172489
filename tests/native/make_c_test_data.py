"""Write the C runtime's test models and golden vectors into native_runtime/tests/data/.

    python3 -m tests.native.make_c_test_data

The C tests (ctest) read these files, so they run without Python; re-run this after a format
change. Each model `NAME.esm` comes with `NAME.in<i>.npy` inputs and `NAME.out<j>.npy` outputs
computed by the IR interpreter.
"""
from __future__ import annotations

import os
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


class ConstTrips(nn.Module):
    """`for _ in range(trips)` with a constant count: the runtime knows it at prepare."""

    def __init__(self, trips: int) -> None:
        super().__init__()
        self.trips = trips

    def forward(self, x):
        for _ in range(self.trips):
            x = eager.tanh(x)
        return x


class ShapeTrips(nn.Module):
    """A trip count computed from the input's shape: also known at prepare."""

    def forward(self, x):
        for _ in range(x.size(0) * 1000000000):
            x = eager.tanh(x)
        return x


class InputTrips(nn.Module):
    """A trip count that is an input value: known only at run time."""

    def forward(self, x, n: int):
        for _ in range(n):
            x = eager.tanh(x)
        return x


class WhileInput(nn.Module):
    """A `while` loop (TorchScript's maximal trip count, a condition computed in the body)."""

    def forward(self, x, n: int):
        i = 0
        while i < n:
            x = eager.tanh(x)
            i += 1
        return x


# The loop models of the C test test_limits (data/limits/NAME.esm) and tests/native/test_limits.py.
LOOP_MODELS = {"for_const_5": lambda: ConstTrips(5), "for_const_1e12": lambda: ConstTrips(10**12),
               "for_shape": ShapeTrips, "for_input": InputTrips, "while_input": WhileInput}


def write_loop_models(data_dir: Path = DATA_DIR / "limits") -> None:
    """The scripted LOOP_MODELS as .esm files (no golden vectors: the tests compute tanh)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, make in LOOP_MODELS.items():
        export.save(jitscript.script(make()), data_dir / f"{name}.esm")


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
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")  # byte-reproducible files
    for name, make in graphs.MODELS.items():
        write_case(name, make(), graphs.example_inputs(name, 3))
    x, _, n = graphs.example_inputs("control_flow", 3)
    write_case("control_flow_else", graphs.control_flow(), (x, False, n))
    eager.manual_seed(0)
    nested = NestedAttrs().eval()
    for p in nested.parameters():
        p.requires_grad = False
    x = eager.randn(2, 1, 4, 4)
    write_case("nested_attrs", jitscript.optimize(jitscript.trace(nested, (x,), dynamic_batch=True)), (x.numpy(),))
    # traced, optimized zoo models: fused groups reading a model input (loop_model); getitem
    # index terms and other nested-tuple attributes (lstm); padded convs and pools split over
    # threads by image (cnn at batch 8: every thread of test_threads' 4 gets images of its own)
    for name, batch in (("loop_model", 3), ("lstm", 3), ("cnn", 8)):
        entry = get(name)
        model = entry.build()
        for p in model.parameters():
            p.requires_grad = False
        traced = jitscript.optimize(jitscript.trace(model, entry.inputs(batch), dynamic_batch=True))
        write_case(f"{name}_traced", traced, tuple(t.numpy() for t in entry.inputs(batch)))
    write_loop_models()
    print(f"wrote {len(list(DATA_DIR.iterdir()))} files to {DATA_DIR}")


if __name__ == "__main__":
    main()
