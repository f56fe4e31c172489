"""export.native: run `.esm` files with libesm, the C runtime, from Python (ctypes).

    from export import native
    model = native.load("model.esm", threads=1)
    logits, = model.run(x)               # NumPy arrays in the model's input order
    logits, = model.run(input=x)         # or by input name

The shared library is found through `$ESM_LIBRARY` (a path to libesm.so), else in
`$ESM_BUILD_DIR`, else next to this module (where `pip install .` puts it), else in
`native_runtime/build/` of this source tree, where `build()` configures and builds it with
CMake. Failures raise `native.RuntimeError`, carrying the C status and the runtime's message.
"""
from __future__ import annotations

import ctypes
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

SOURCE_DIR = Path(__file__).resolve().parent.parent / "native_runtime"
DEFAULT_BUILD_DIR = SOURCE_DIR / "build"
MAX_DIMS = 8

# esm_dtype numbering (native_runtime/include/esm.h, export/schema/esm.fbs DType)
_DTYPES = {0: np.float32, 1: np.float64, 2: np.int32, 3: np.int64, 4: np.bool_}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
_STATUS_NAMES = ("OK", "INVALID_ARGUMENT", "INVALID_MODEL", "UNSUPPORTED", "SHAPE", "OUT_OF_MEMORY", "IO",
                 "RUNTIME", "STATE")


class RuntimeError(Exception):  # noqa: A001 - the documented name: export.native.RuntimeError
    """A libesm call failed: `status` is the esm_status code, `status_name` its name, `message`
    the runtime's explanation (what and where)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.status_name = "ESM_ERR_" + _STATUS_NAMES[status] if 0 < status < len(_STATUS_NAMES) else str(status)
        self.message = message
        super().__init__(f"{self.status_name}: {message}")


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("ndim", ctypes.c_int32),
                ("shape", ctypes.c_int64 * MAX_DIMS), ("dim_names", ctypes.c_char_p * MAX_DIMS)]


class _LoadOptions(ctypes.Structure):
    _fields_ = [("allocator", ctypes.c_void_p), ("error", ctypes.c_char_p), ("error_len", ctypes.c_size_t)]


class _Options(ctypes.Structure):
    _fields_ = [("num_threads", ctypes.c_int32), ("arena", ctypes.c_void_p), ("arena_bytes", ctypes.c_size_t),
                ("allocator", ctypes.c_void_p), ("max_arena_bytes", ctypes.c_size_t),
                ("max_loop_iterations", ctypes.c_int64)]


def build(build_dir: str | os.PathLike | None = None, *, sanitize: bool = False, quiet: bool = True) -> Path:
    """Configure and build libesm (and esm-run) with CMake; return the shared library's path."""
    if shutil.which("cmake") is None:
        raise OSError("building libesm needs cmake (and a C compiler) on PATH")
    build_dir = Path(build_dir) if build_dir else DEFAULT_BUILD_DIR
    out = subprocess.DEVNULL if quiet else None
    configure = ["cmake", "-S", str(SOURCE_DIR), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                 f"-DESM_SANITIZE={'ON' if sanitize else 'OFF'}"]
    subprocess.run(configure, check=True, stdout=out)
    subprocess.run(["cmake", "--build", str(build_dir), "-j", str(os.cpu_count() or 2)], check=True, stdout=out)
    return _library_in(build_dir)


def _library_in(build_dir: Path) -> Path:
    name = "libesm.dylib" if sys.platform == "darwin" else "libesm.so"
    return Path(build_dir) / name


def library_path() -> Path:
    """Where the shared library is expected: $ESM_LIBRARY, $ESM_BUILD_DIR, the copy `pip install .`
    puts next to this module, or the source tree's native_runtime/build/."""
    if os.environ.get("ESM_LIBRARY"):
        return Path(os.environ["ESM_LIBRARY"])
    if os.environ.get("ESM_BUILD_DIR"):
        return _library_in(Path(os.environ["ESM_BUILD_DIR"]))
    installed = _library_in(Path(__file__).resolve().parent)
    return installed if installed.exists() or not SOURCE_DIR.exists() else _library_in(DEFAULT_BUILD_DIR)


_LIB: ctypes.CDLL | None = None


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i32, st = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int
    signatures = {
        "esm_model_load_file": (st, [ctypes.c_char_p, ctypes.POINTER(_LoadOptions), ctypes.POINTER(p)]),
        "esm_model_free": (None, [p]),
        "esm_model_num_inputs": (i32, [p]),
        "esm_model_num_outputs": (i32, [p]),
        "esm_model_input_info": (st, [p, i32, ctypes.POINTER(_TensorInfo)]),
        "esm_model_output_info": (st, [p, i32, ctypes.POINTER(_TensorInfo)]),
        "esm_session_create": (st, [p, ctypes.POINTER(_Options), ctypes.POINTER(p)]),
        "esm_session_free": (None, [p]),
        "esm_session_error": (ctypes.c_char_p, [p]),
        "esm_session_set_input": (st, [p, i32, ctypes.c_int, ctypes.POINTER(ctypes.c_int64), i32, p, ctypes.c_size_t]),
        "esm_session_prepare": (st, [p]),
        "esm_session_run": (st, [p]),
        "esm_session_output": (st, [p, i32, ctypes.POINTER(_TensorInfo), ctypes.POINTER(p)]),
        "esm_session_arena_bytes": (ctypes.c_size_t, [p]),
        "esm_options_init": (None, [ctypes.POINTER(_Options)]),
        "esm_supported_ops": (i32, [ctypes.POINTER(ctypes.c_char_p), i32]),
        "esm_version": (ctypes.c_char_p, []),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


def library() -> ctypes.CDLL:
    """The loaded libesm (built on first use when it is missing from the default build dir)."""
    global _LIB
    if _LIB is None:
        path = library_path()
        if not path.exists() and not os.environ.get("ESM_LIBRARY") and SOURCE_DIR.exists():
            path = build(path.parent)
        if not path.exists():
            raise OSError(f"libesm not found at {path}; build it with `python3 -m export.native` or set ESM_LIBRARY")
        _LIB = _declare(ctypes.CDLL(str(path)))
    return _LIB


def version() -> str:
    """libesm's version string."""
    return library().esm_version().decode()


def supported_ops() -> list[str]:
    """Every op name the C runtime executes (kernels and structural prim:: ops)."""
    lib = library()
    count = lib.esm_supported_ops(None, 0)
    names = (ctypes.c_char_p * count)()
    lib.esm_supported_ops(names, count)
    return [n.decode() for n in names]


def _info_dict(info: _TensorInfo) -> dict:
    shape = []
    for d in range(max(info.ndim, 0)):
        name = info.dim_names[d]
        shape.append(info.shape[d] if info.shape[d] >= 0 else (name.decode() if name else -1))
    return {"name": info.name.decode(), "dtype": np.dtype(_DTYPES[info.dtype]).name, "shape": shape}


class NativeModel:
    """A loaded .esm model and one session: `run(*arrays)` or `run(**named)` -> list of arrays.
    `max_arena_bytes` and `max_loop_iterations` are esm_options' limits (None: libesm's defaults,
    1 GiB and 2**20 iterations; 0: unlimited); tighten them for untrusted files (SECURITY.md)."""

    def __init__(self, path: str | os.PathLike, threads: int = 1, *, max_arena_bytes: int | None = None,
                 max_loop_iterations: int | None = None) -> None:
        self._lib = lib = library()
        self._model = ctypes.c_void_p()
        self._session = ctypes.c_void_p()
        error = ctypes.create_string_buffer(512)
        load_options = _LoadOptions(None, ctypes.cast(error, ctypes.c_char_p), len(error))
        status = lib.esm_model_load_file(os.fsencode(path), ctypes.byref(load_options), ctypes.byref(self._model))
        if status:
            raise RuntimeError(status, f"{path}: {error.value.decode(errors='replace')}")
        options = _Options()
        lib.esm_options_init(ctypes.byref(options))
        options.num_threads = threads
        if max_arena_bytes is not None:
            options.max_arena_bytes = max_arena_bytes
        if max_loop_iterations is not None:
            options.max_loop_iterations = max_loop_iterations
        status = lib.esm_session_create(self._model, ctypes.byref(options), ctypes.byref(self._session))
        if status:
            raise RuntimeError(status, "esm_session_create failed")
        self.inputs = [self._info(lib.esm_model_input_info, i) for i in range(lib.esm_model_num_inputs(self._model))]
        self.outputs = [self._info(lib.esm_model_output_info, i) for i in range(lib.esm_model_num_outputs(self._model))]
        self._prepared_shapes: list[tuple] | None = None

    def _info(self, fn, index: int) -> dict:
        info = _TensorInfo()
        fn(self._model, index, ctypes.byref(info))
        return _info_dict(info)

    def _check(self, status: int) -> None:
        if status:
            raise RuntimeError(status, self._lib.esm_session_error(self._session).decode(errors="replace"))

    def _arrays(self, args: tuple, named: dict) -> list[np.ndarray]:
        names = [i["name"] for i in self.inputs]
        if named:
            unknown = set(named) - set(names)
            if unknown or args:
                raise TypeError(f"run() takes the inputs {names} by position or by name; got unknown {sorted(unknown)}")
            missing = [n for n in names if n not in named]
            if missing:
                raise TypeError(f"run() is missing inputs {missing}")
            args = tuple(named[n] for n in names)
        if len(args) != len(names):
            raise TypeError(f"run() takes {len(names)} inputs {names}, got {len(args)}")
        arrays = []
        for spec, value in zip(self.inputs, args):
            value = value.numpy() if hasattr(value, "numpy") and not isinstance(value, np.ndarray) else value
            source = np.asarray(value)
            if not np.can_cast(source.dtype, spec["dtype"], casting="same_kind"):
                raise TypeError(f"run(): input {spec['name']} takes {spec['dtype']}, got {source.dtype} "
                                "(no same-kind conversion)")
            array = source.astype(spec["dtype"], copy=False)  # (ascontiguousarray would make 0-d 1-d)
            arrays.append(array if array.flags.c_contiguous else array.copy())
        return arrays

    def run(self, *args, **named) -> list[np.ndarray]:
        """Run the model; inputs are NumPy arrays (or scalars) converted to the model's dtypes."""
        lib, arrays = self._lib, self._arrays(args, named)
        for index, a in enumerate(arrays):
            shape = (ctypes.c_int64 * MAX_DIMS)(*a.shape)
            self._check(lib.esm_session_set_input(self._session, index, _CODES[a.dtype], shape, a.ndim,
                                                  a.ctypes.data, a.nbytes))
        shapes = [a.shape for a in arrays]
        if shapes != self._prepared_shapes:
            self._prepared_shapes = None
            self._check(lib.esm_session_prepare(self._session))
            self._prepared_shapes = shapes
        self._check(lib.esm_session_run(self._session))
        return [self._output(i) for i in range(len(self.outputs))]

    def _output(self, index: int) -> np.ndarray:
        info, data = _TensorInfo(), ctypes.c_void_p()
        self._check(self._lib.esm_session_output(self._session, index, ctypes.byref(info), ctypes.byref(data)))
        shape = tuple(info.shape[:info.ndim])
        dtype = np.dtype(_DTYPES[info.dtype])
        nbytes = math.prod(shape) * dtype.itemsize  # (np.prod costs microseconds per call)
        if nbytes == 0:
            return np.empty(shape, dtype)
        buffer = (ctypes.c_char * nbytes).from_address(data.value)
        return np.frombuffer(buffer, dtype=dtype).reshape(shape).copy()  # the arena is reused by the next run

    @property
    def arena_bytes(self) -> int:
        """Bytes of the arena the last prepare planned."""
        return int(self._lib.esm_session_arena_bytes(self._session))

    def close(self) -> None:
        """Free the session and the model (also done when the object is collected)."""
        if self._session:
            self._lib.esm_session_free(self._session)
            self._session = ctypes.c_void_p()
        if self._model:
            self._lib.esm_model_free(self._model)
            self._model = ctypes.c_void_p()

    def __del__(self) -> None:
        if getattr(self, "_lib", None) is not None:
            self.close()


def load(path: str | os.PathLike, threads: int = 1, *, max_arena_bytes: int | None = None,
         max_loop_iterations: int | None = None) -> NativeModel:
    """Load `path` with the C runtime (mmap, zero-copy weights) and create a session whose arena
    and loops are limited as given (None: libesm's defaults, 1 GiB and 2**20 iterations per loop;
    0: unlimited)."""
    return NativeModel(path, threads=threads, max_arena_bytes=max_arena_bytes,
                       max_loop_iterations=max_loop_iterations)


if __name__ == "__main__":
    print(build(quiet=False))
