"""Files written by earlier writers stay readable (see export/schema/README.md)."""
from __future__ import annotations

import numpy as np
import pytest

import eager
import export
from tests.export.make_golden import GOLDEN, GOLDEN_DIR


def _inputs(io) -> list:
    arrays = [io[f"in{i}"] for i in range(sum(k.startswith("in") for k in io.files))]
    return [eager.tensor(a) if a.ndim else a.item() for a in arrays]


@pytest.mark.parametrize("stem", sorted(GOLDEN))
def test_golden_file_loads_with_the_same_graph_and_outputs(stem):
    module = export.load(GOLDEN_DIR / f"{stem}.esm")
    assert str(module.graph) == (GOLDEN_DIR / f"{stem}.graph.txt").read_text()
    io = np.load(GOLDEN_DIR / f"{stem}.io.npz")
    outputs = module(*_inputs(io))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    for i, out in enumerate(outputs):
        np.testing.assert_array_equal(out.numpy(), io[f"out{i}"])


def test_golden_v1_file_header_and_metadata():
    info = export.inspect(GOLDEN_DIR / "mlp_v1.esm")
    assert info["format_version"] == "1.0"
    assert info["producer"].startswith("eagerscript ")
    assert info["metadata"] == {"purpose": "golden file: readers must keep reading it"}
    assert info["inputs"][0]["shape"] == ["N", 4]
