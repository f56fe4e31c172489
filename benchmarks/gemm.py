"""Our SGEMM against NumPy/OpenBLAS, single thread, in one run.

Prints the CPU model, the micro-kernel our GEMM picked, the BLAS kernel NumPy runs, and
GFLOP/s of both on 256^3 and 1024^3 (or the sizes given) with the ratio. Run it as

    env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 python3 -m benchmarks.gemm

(`OPENBLAS_CORETYPE` is unset for the benchmark only, so OpenBLAS picks its best kernel.)
On a shared machine the load changes from second to second, so the two are timed in
alternation (`--rounds` rounds of ours then NumPy, ~0.5 s each): the table gives each one's
best GFLOP/s and the median of the per-round ratios.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
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
    """Compile native_runtime/bench/bench_gemm.c with the GEMM source as the Release libesm builds
    gemm.c (-O3 -DNDEBUG -fno-trapping-math: kernels.cmake; baseline ISA, kernels by run-time detection)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    exe = out_dir / "bench_gemm"
    subprocess.run([cc, "-std=c99", "-O3", "-DNDEBUG", "-fno-trapping-math", f"-I{ROOT / 'include'}",
                    str(ROOT / "src" / "kernels" / "gemm.c"), str(ROOT / "bench" / "bench_gemm.c"), "-o", str(exe)],
                   check=True)
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


def compare(sizes: list[int], kernel: str | None = None, rounds: int = 5) -> list[tuple[int, str, float, float, float]]:
    """(n, our kernel, our best GFLOP/s, NumPy's best GFLOP/s, median of the per-round ratios) per
    size, ours and NumPy timed in alternation so both see the same load."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_bench(Path(tmp))
        for n in sizes:
            pairs = [(ours(exe, [n], kernel)[n], numpy_gflops(n)) for _ in range(max(1, rounds))]
            rows.append((n, pairs[0][0][0], max(p[0][1] for p in pairs), max(p[1] for p in pairs),
                         statistics.median(p[0][1] / p[1] for p in pairs)))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[256, 1024])
    parser.add_argument("--kernel", help="force one of avx512, avx2, neon, c")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of ours and NumPy per size")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_model()}")
    print(f"NumPy BLAS: {numpy_blas()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"{'size':>6} {'kernel':>8} {'ours GFLOP/s':>13} {'NumPy GFLOP/s':>14} {'ratio':>6}  (best of {args.rounds}; "
          "ratio: median of the rounds)")
    for n, kernel, best_ours, best_theirs, ratio in compare(args.sizes, args.kernel, args.rounds):
        print(f"{n:>6} {kernel:>8} {best_ours:>13.1f} {best_theirs:>14.1f} {ratio:>6.0%}")


if __name__ == "__main__":
    main()
