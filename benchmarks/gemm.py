"""Our SGEMM against NumPy/OpenBLAS, single thread, in one run.

Prints the CPU model, the micro-kernel our GEMM picked, the BLAS kernel NumPy runs, and
GFLOP/s of both on 256^3 and 1024^3 (or the sizes given) with the ratio. Run it as

    env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 python3 -m benchmarks.gemm

(`OPENBLAS_CORETYPE` is unset for the benchmark only, so OpenBLAS picks its best kernel.)
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1] / "native_runtime"


def cpu_model() -> str:
    """The CPU's marketing name (from /proc/cpuinfo on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def numpy_blas() -> str:
    """The BLAS library and kernel NumPy runs (threadpoolctl when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            return f"{info.get('internal_api')} {info.get('version')} kernel {info.get('architecture')}"
    return "unknown"


def numpy_gflops(n: int, seconds: float = 0.5) -> float:
    """Best-of-repetitions GFLOP/s of a float32 n^3 product with one BLAS thread."""
    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(1, user_api="blas")
    except ImportError:
        limit = None
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best, start, reps = float("inf"), time.perf_counter(), 0
    while reps < 3 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
        reps += 1
    if limit is not None:
        limit.unregister()
    return 2 * n ** 3 / best / 1e9


def build_bench(out_dir: Path) -> Path:
    """Compile native_runtime/bench/bench_gemm.c with the GEMM source (-O2, baseline ISA)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    exe = out_dir / "bench_gemm"
    subprocess.run([cc, "-std=c99", "-O2", f"-I{ROOT / 'include'}", str(ROOT / "src" / "kernels" / "gemm.c"),
                    str(ROOT / "bench" / "bench_gemm.c"), "-o", str(exe)], check=True)
    return exe


def ours(exe: Path, sizes: list[int], kernel: str | None) -> dict[int, tuple[str, float]]:
    """{n: (kernel name, GFLOP/s)} from bench_gemm's output lines."""
    args = [str(exe)] + (["--kernel", kernel] if kernel else []) + [str(n) for n in sizes]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    result = {}
    for line in out.splitlines():
        fields = dict(f.split("=") for f in line.split())
        result[int(fields["m"])] = (fields["kernel"], float(fields["gflops"]))
    return result


def main(argv: list[str] | None = None) -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[256, 1024])
    parser.add_argument("--kernel", help="force one of avx512, avx2, neon, c")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_model()}")
    print(f"NumPy BLAS: {numpy_blas()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    with tempfile.TemporaryDirectory() as tmp:
        measured = ours(build_bench(Path(tmp)), args.sizes, args.kernel)
    print(f"{'size':>6} {'kernel':>8} {'ours GFLOP/s':>13} {'NumPy GFLOP/s':>14} {'ratio':>6}")
    for n in args.sizes:
        kernel, gflops = measured[n]
        theirs = numpy_gflops(n)
        print(f"{n:>6} {kernel:>8} {gflops:>13.1f} {theirs:>14.1f} {gflops / theirs:>6.0%}")


if __name__ == "__main__":
    main()
