"""Files written by earlier format versions stay readable (see export/schema/README.md)."""
from __future__ import annotations

import numpy as np

import eager
import export
from tests.export.make_golden import GOLDEN, GOLDEN_IO, GOLDEN_TEXT


def test_golden_v1_file_loads_with_the_same_graph_and_outputs():
    module = export.load(GOLDEN)
    assert str(module.graph) == GOLDEN_TEXT.read_text()
    io = np.load(GOLDEN_IO)
    np.testing.assert_array_equal(module(eager.tensor(io["x"])).numpy(), io["y"])


def test_golden_v1_file_header_and_metadata():
    info = export.inspect(GOLDEN)
    assert info["format_version"] == "1.0"
    assert info["producer"].startswith("eagerscript ")
    assert info["metadata"] == {"purpose": "golden file: readers must keep reading it"}
    assert info["inputs"][0]["shape"] == ["N", 4]
