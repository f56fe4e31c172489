"""Calling the C kernels of native_runtime/src/kernels from Python (tests only).

The kernel sources are compiled into a shared library with the system C compiler, and each
kernel's `prepare`/`eval` is called through ctypes on a hand-built `esm_node_ctx`, exactly as
the runtime core calls it. This lets every kernel be compared with the eager op it mirrors
before (and independently of) the loader and the exporter.
"""
from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2] / "native_runtime"
KERNEL_DIR = ROOT / "src" / "kernels"
MAX_DIMS = 8
ERROR_LEN = 512

# esm_dtype numbering (include/esm.h) by NumPy dtype.
DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.int32): 2, np.dtype(np.int64): 3,
          np.dtype(np.bool_): 4}
NUMPY = {code: dt for dt, code in DTYPES.items()}
ATTR_NONE, ATTR_INT, ATTR_FLOAT, ATTR_BOOL, ATTR_STRING, ATTR_INTS, ATTR_FLOATS, ATTR_DTYPE = range(8)
STATUS = {0: "ESM_OK", 1: "INVALID_ARGUMENT", 2: "INVALID_MODEL", 3: "UNSUPPORTED", 4: "SHAPE",
          5: "OUT_OF_MEMORY", 6: "IO", 7: "RUNTIME", 8: "STATE"}


class Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("ndim", ctypes.c_int32), ("shape", ctypes.c_int64 * MAX_DIMS),
                ("data", ctypes.c_void_p)]


class Attr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int), ("i", ctypes.c_int64), ("f", ctypes.c_double),
                ("s", ctypes.c_char_p), ("ints", ctypes.POINTER(ctypes.c_int64)),
                ("floats", ctypes.POINTER(ctypes.c_double)), ("count", ctypes.c_int32)]


class NodeCtx(ctypes.Structure):
    _fields_ = [("op", ctypes.c_char_p), ("node_index", ctypes.c_int32), ("num_inputs", ctypes.c_int32),
                ("inputs", ctypes.POINTER(ctypes.POINTER(Tensor))), ("num_outputs", ctypes.c_int32),
                ("outputs", ctypes.POINTER(ctypes.POINTER(Tensor))), ("num_attrs", ctypes.c_int32),
                ("attrs", ctypes.POINTER(Attr)), ("scratch", ctypes.c_void_p), ("scratch_bytes", ctypes.c_size_t),
                ("num_threads", ctypes.c_int32), ("error", ctypes.c_char_p), ("pool", ctypes.c_void_p),
                ("unused_outputs", ctypes.c_uint32)]


KernelFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(NodeCtx))


class Kernel(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("prepare", KernelFn), ("eval", KernelFn)]


class KernelError(Exception):
    """A kernel returned a status other than ESM_OK; carries the status name and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{STATUS.get(status, status)}: {message}")
        self.status = STATUS.get(status, str(status))


def build(out_dir: Path, extra_flags: tuple = ()) -> Path:
    """Compile every kernel source into `out_dir/libesm_kernels.so` (strict C99 warnings as errors)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise FileNotFoundError("no C compiler")
    lib = out_dir / "libesm_kernels.so"
    serial = out_dir / "serial_parallel_for.c"  # the core's thread pool is not linked here
    serial.write_text('#include "kernel_api.h"\n'
                      "void esm_parallel_for(const esm_node_ctx *ctx, int64_t n, int64_t grain, esm_range_fn fn,"
                      " void *arg) { (void)ctx; (void)grain; if (n > 0) fn(arg, 0, 0, n); }\n")
    sources = sorted(str(p) for p in KERNEL_DIR.glob("*.c")) + [str(serial)]
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-fno-trapping-math", "-shared", "-fPIC",
                    *extra_flags,
                    f"-I{ROOT / 'include'}", f"-I{ROOT / 'src'}", *sources, "-lm", "-o", str(lib)],
                   check=True, capture_output=True)
    return lib


class Kernels:
    """The compiled kernel table."""

    def __init__(self, path: Path) -> None:
        self.lib = ctypes.CDLL(str(path))
        self.lib.esm_find_kernel.restype = ctypes.POINTER(Kernel)
        self.lib.esm_find_kernel.argtypes = [ctypes.c_char_p]
        self.lib.esm_kernel_at.restype = ctypes.POINTER(Kernel)
        self.lib.esm_kernel_count.restype = ctypes.c_int32

    def names(self) -> list[str]:
        """Every op name the kernel table holds, in table order."""
        return [self.lib.esm_kernel_at(i).contents.name.decode() for i in range(self.lib.esm_kernel_count())]

    def run(self, op: str, inputs: list, attrs: dict, num_outputs: int = 1,
            unused_outputs: int = 0) -> list[np.ndarray]:
        """prepare + eval of kernel `op` on NumPy arrays (None: an omitted input) with Python attrs;
        `unused_outputs` is the core's bit mask of outputs nothing reads (eval may skip them)."""
        found = self.lib.esm_find_kernel(op.encode())
        if not found:
            raise KernelError(3, f"no kernel named {op!r}")
        kernel = found.contents
        keep = []  # keeps every buffer ctypes points into alive for the call
        in_structs = [None if a is None else _tensor(np.require(a, requirements="C"), keep) for a in inputs]
        in_ptrs = (ctypes.POINTER(Tensor) * max(len(inputs), 1))(
            *[ctypes.pointer(t) if t is not None else ctypes.POINTER(Tensor)() for t in in_structs])
        outs = [Tensor() for _ in range(num_outputs)]
        out_ptrs = (ctypes.POINTER(Tensor) * num_outputs)(*[ctypes.pointer(t) for t in outs])
        attr_array = (Attr * max(len(attrs), 1))(*[_attr(k, v, keep) for k, v in attrs.items()])
        error = ctypes.create_string_buffer(ERROR_LEN)
        ctx = NodeCtx(op=op.encode(), node_index=0, num_inputs=len(inputs), inputs=in_ptrs, num_outputs=num_outputs,
                      outputs=out_ptrs, num_attrs=len(attrs), attrs=attr_array, num_threads=1,
                      error=ctypes.cast(error, ctypes.c_char_p), unused_outputs=unused_outputs)
        _check(kernel.prepare(ctypes.byref(ctx)), error)
        results = [np.zeros(tuple(t.shape[:t.ndim]), dtype=NUMPY[t.dtype]) for t in outs]
        for t, r in zip(outs, results):
            t.data = r.ctypes.data
        scratch = np.zeros(max(ctx.scratch_bytes, 1), dtype=np.uint8)
        ctx.scratch = scratch.ctypes.data
        _check(kernel.eval(ctypes.byref(ctx)), error)
        return results


def _check(status: int, error) -> None:
    if status != 0:
        raise KernelError(status, error.value.decode(errors="replace"))


def _tensor(a: np.ndarray, keep: list) -> Tensor:
    keep.append(a)
    t = Tensor(dtype=DTYPES[a.dtype], ndim=a.ndim, data=a.ctypes.data)
    for d, s in enumerate(a.shape):
        t.shape[d] = s
    return t


# Indexing items (eager/ops/indexing.py) as INTS: four longs per item, [kind, a, b, c].
ITEM_KINDS = {"select": 0, "slice": 1, "newaxis": 2, "tensor": 3}
ITEM_NONE = -(2 ** 63)  # a missing slice bound


def encode_items(items) -> tuple:
    """The flat INTS form of an indexing key (the layout native_runtime/src/kernels/index.c reads)."""
    flat = []
    for item in items:
        args = [ITEM_NONE if v is None else int(v) for v in item[1:]]
        flat += [ITEM_KINDS[item[0]]] + args + [0] * (3 - len(args))
    return tuple(flat)


def _flatten(value):
    """Nested int tuples (conv padding ((t, b), (l, r))) flattened row-major; None when not such."""
    if isinstance(value, (bool, int, np.integer)):
        return [int(value)]
    if isinstance(value, (tuple, list)):
        out = []
        for v in value:
            inner = _flatten(v)
            if inner is None:
                return None
            out += inner
        return out
    return None


def _attr(name: str, value, keep: list) -> Attr:
    """A Python attribute value as the file stores it (see export/schema/esm.fbs Attr)."""
    a = Attr(name=name.encode())
    if name == "items":
        value = encode_items(value)
    elif isinstance(value, (tuple, list)) and any(isinstance(v, (tuple, list)) for v in value):
        value = tuple(_flatten(value) or value)
    if value is None:
        a.kind = ATTR_NONE
    elif isinstance(value, bool):
        a.kind, a.i = ATTR_BOOL, int(value)
    elif isinstance(value, (int, np.integer)):
        a.kind, a.i = ATTR_INT, int(value)
    elif isinstance(value, (float, np.floating)):
        a.kind, a.f = ATTR_FLOAT, float(value)
    elif isinstance(value, str):
        raw = value.encode()
        keep.append(raw)
        a.kind, a.s, a.count = ATTR_STRING, raw, len(raw)
    elif hasattr(value, "np") and hasattr(value, "itemsize"):  # an eager DType
        a.kind, a.i = ATTR_DTYPE, DTYPES[np.dtype(value.np)]
    elif isinstance(value, (tuple, list)) and all(isinstance(v, (bool, int, np.integer)) for v in value):
        arr = np.asarray([int(v) for v in value] or [0], dtype=np.int64)
        keep.append(arr)
        a.kind, a.count = ATTR_INTS, len(value)
        a.ints = arr.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))
    elif isinstance(value, (tuple, list)):
        arr = np.asarray([float(v) for v in value] or [0.0], dtype=np.float64)
        keep.append(arr)
        a.kind, a.count = ATTR_FLOATS, len(value)
        a.floats = arr.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    else:
        raise TypeError(f"attribute {name!r}: cannot pass {type(value).__name__} to a kernel")
    return a
