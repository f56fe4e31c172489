"""Malformed .esm files raise export.FormatError with a reason, never another exception."""
from __future__ import annotations

import struct

import numpy as np
import pytest

import export
from export.fb.Constant import Constant
from export.reader import open_esm
from tests.export import graphs


@pytest.fixture()
def good(tmp_path) -> bytes:
    export.save(graphs.mlp(), tmp_path / "good.esm")
    return (tmp_path / "good.esm").read_bytes()


def _write(tmp_path, data: bytes):
    path = tmp_path / "bad.esm"
    path.write_bytes(data)
    return path


def _load_error(tmp_path, data: bytes) -> str:
    with pytest.raises(export.FormatError) as info:
        export.load(_write(tmp_path, data))
    return info.value.reason


def test_empty_file(tmp_path):
    assert "shorter than a FlatBuffer header" in _load_error(tmp_path, b"")


def test_wrong_file_identifier(tmp_path, good):
    assert "file identifier is b'XXXX'" in _load_error(tmp_path, good[:4] + b"XXXX" + good[8:])


@pytest.mark.parametrize("keep", [12, 100, 0.5, 0.9])
def test_truncated_file(tmp_path, good, keep):
    n = keep if isinstance(keep, int) else int(len(good) * keep)
    assert _load_error(tmp_path, good[:n])


def test_root_offset_past_the_end(tmp_path, good):
    reason = _load_error(tmp_path, struct.pack("<I", len(good) + 1000) + good[4:])
    assert "out of bounds" in reason or "corrupt" in reason


def test_newer_major_version_is_refused_with_both_versions(tmp_path, good):
    esm = open_esm(_write(tmp_path, good))
    field = esm.model._tab.Offset(4)  # format_version_major, the first field of Model
    position = esm.model._tab.Pos + field
    data = bytearray(good)
    data[position:position + 4] = struct.pack("<I", 7)
    del esm
    reason = _load_error(tmp_path, bytes(data))
    assert "format version 7.0 is newer than this reader's 1.0" in reason


def _constant_field_position(path, field_slot: int) -> int:
    """Where a field of the last constant (whose offset is not the default 0) lies in the file."""
    esm = open_esm(path)
    constant: Constant = esm.model.Constants(esm.model.ConstantsLength() - 1)
    assert constant.Offset() > 0 and constant._tab.Offset(field_slot)
    return constant._tab.Pos + constant._tab.Offset(field_slot)


def test_constant_offset_outside_the_weights(tmp_path, good):
    position = _constant_field_position(_write(tmp_path, good), 10)  # Constant.offset
    data = bytearray(good)
    data[position:position + 8] = struct.pack("<Q", 1 << 20)
    assert "lie outside the weights vector" in _load_error(tmp_path, bytes(data))


def test_constant_offset_not_aligned(tmp_path, good):
    position = _constant_field_position(_write(tmp_path, good), 10)
    data = bytearray(good)
    data[position:position + 8] = struct.pack("<Q", 4)
    assert "not a multiple of 64" in _load_error(tmp_path, bytes(data))


def test_constant_size_that_does_not_match_its_shape(tmp_path, good):
    position = _constant_field_position(_write(tmp_path, good), 12)  # Constant.nbytes
    data = bytearray(good)
    data[position:position + 8] = struct.pack("<Q", 3)
    assert "do not hold a float32 tensor" in _load_error(tmp_path, bytes(data))


def test_op_index_out_of_range(tmp_path, good):
    esm = open_esm(_write(tmp_path, good))
    node = esm.model.Graph().Block().Nodes(2)  # linear: op index 1, stored (0 is the default)
    assert node.Op() == 1
    position = node._tab.Pos + node._tab.Offset(4)  # Node.op
    data = bytearray(good)
    data[position:position + 4] = struct.pack("<I", 99)
    assert "op index 99 out of range" in _load_error(tmp_path, bytes(data))


def test_inspect_reports_format_errors_too(tmp_path):
    with pytest.raises(export.FormatError, match="not a valid .esm model"):
        export.inspect(_write(tmp_path, b"\0" * 64))


def test_random_byte_corruption_gives_format_error_or_a_model_never_another_exception(tmp_path):
    good_bytes = (tmp_path / "cf.esm")
    export.save(graphs.control_flow(), good_bytes)
    good = good_bytes.read_bytes()
    rng = np.random.default_rng(0)
    for _ in range(200):
        data = bytearray(good)
        for position in rng.integers(0, len(data), size=3):
            data[position] = rng.integers(0, 256)
        try:
            export.load(_write(tmp_path, bytes(data)))
        except export.FormatError as exc:
            assert exc.reason


def test_outputs_that_do_not_name_the_graph_returns(tmp_path, good):
    esm = open_esm(_write(tmp_path, good))
    spec = esm.model.Outputs(0)
    position = spec._tab.Pos + spec._tab.Offset(6)  # IOSpec.value
    data = bytearray(good)
    data[position:position + 4] = struct.pack("<i", 1)
    del esm, spec
    assert "the model's outputs do not match the graph's block outputs" in _load_error(tmp_path, bytes(data))
