"""Constants of the .esm format shared by the writer and the reader (see docs/format.md)."""
from __future__ import annotations

from eager import dtypes
from export.fb.DType import DType as FbDType

FILE_IDENTIFIER = b"ESM0"
# (major, minor): a reader refuses a newer major version; see export/schema/README.md.
FORMAT_VERSION = (1, 0)
# Every constant's data starts at a multiple of this many bytes from the start of the file.
ALIGNMENT = 64

_DTYPE_CODES = {
    dtypes.float32: FbDType.FLOAT32,
    dtypes.float64: FbDType.FLOAT64,
    dtypes.int32: FbDType.INT32,
    dtypes.int64: FbDType.INT64,
    dtypes.bool_: FbDType.BOOL,
}
_DTYPES_BY_CODE = {code: dtype for dtype, code in _DTYPE_CODES.items()}


class FormatError(ValueError):
    """A file that is not a readable .esm model; the message says what is wrong and where."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: not a valid .esm model: {reason}")
        self.path = path
        self.reason = reason


def dtype_code(dtype: dtypes.DType) -> int:
    """The file's DType number of an eager dtype."""
    return _DTYPE_CODES[dtypes.to_dtype(dtype)]


def dtype_from_code(code: int) -> dtypes.DType:
    """The eager dtype of a file DType number; KeyError for an unknown number."""
    return _DTYPES_BY_CODE[code]


def little_endian(dtype: dtypes.DType):
    """The NumPy dtype with which weights of `dtype` are stored (explicitly little-endian)."""
    return dtypes.to_dtype(dtype).np.newbyteorder("<")
