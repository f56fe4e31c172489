"""The weights section: every constant tensor stored once, 64-byte aligned, little-endian."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import flatbuffers
import numpy as np

from eager import dtypes
from export.format import ALIGNMENT, little_endian


@dataclass(frozen=True)
class ConstantEntry:
    """Where one named constant's data lies in the weights vector."""

    name: str
    dtype: dtypes.DType
    shape: tuple[int, ...]
    offset: int
    nbytes: int


@dataclass
class WeightsLayout:
    """The packed layout: the entries in input order and the distinct arrays by offset."""

    entries: list[ConstantEntry]
    blobs: dict[int, np.ndarray]
    total_bytes: int


def _round_up(n: int, multiple: int) -> int:
    return (n + multiple - 1) // multiple * multiple


def _stored_array(value) -> np.ndarray:
    """The array as it is stored: contiguous, little-endian, in one of the supported dtypes."""
    if hasattr(value, "detach"):  # an eager Tensor (a parameter may require grad)
        value = value.detach().to("cpu").numpy()
    array = np.asarray(value)
    dtype = dtypes.from_numpy(array.dtype)
    return np.ascontiguousarray(array, dtype=little_endian(dtype))


def layout_weights(params: dict[str, object]) -> WeightsLayout:
    """Assign each named constant an aligned offset; identical data (bytes) is stored once."""
    entries, blobs, by_digest = [], {}, {}
    total = 0
    for name, value in params.items():
        array = _stored_array(value)
        raw = memoryview(array).cast("B")
        key = (hashlib.sha256(raw).digest(), array.nbytes)
        offset = by_digest.get(key)
        if offset is None:
            offset = by_digest[key] = total
            blobs[offset] = array
            total = _round_up(total + array.nbytes, ALIGNMENT)
        dtype = dtypes.from_numpy(array.dtype)
        entries.append(ConstantEntry(name, dtype, tuple(array.shape), offset, array.nbytes))
    return WeightsLayout(entries, blobs, total)


def build_weights_vector(builder: flatbuffers.Builder, layout: WeightsLayout) -> int:
    """Write the weights [ubyte] vector with its data 64-byte aligned; return its offset.

    The flatc-generated Python ignores `force_align`, so the vector is laid out here: the
    builder aligns relative to the end of the buffer and `Finish` pads the whole buffer to the
    largest alignment used, so the data start is also aligned relative to the file start.
    """
    builder.StartVector(1, layout.total_bytes, ALIGNMENT)
    builder.head -= layout.total_bytes
    start = builder.head
    view = memoryview(builder.Bytes)
    for offset, array in layout.blobs.items():
        view[start + offset:start + offset + array.nbytes] = memoryview(array).cast("B")
    return builder.EndVector()
