"""Model latency, load time, memory and size: libesm (the C runtime) against ONNX Runtime and PyTorch.

Every model is built in eager (the test zoo's MLP, CNN with BatchNorm, residual block, transformer
encoder layer, LSTM over 32 steps, and the digits CNN), exported with our pipeline
(jitscript.trace(dynamic_batch=True) -> jitscript.optimize -> export.save, and once more without
optimize), and rebuilt in PyTorch with the same weights (state dicts map 1:1), which torch.onnx
exports for ONNX Runtime. One run prints, side by side, at 1 and 2 threads and batch 1 and 32:
median and p90 latency of libesm (esm-run --bench, no Python in the loop; and through the
export.native ctypes binding), ONNX Runtime, PyTorch eager and TorchScript (trace + freeze +
optimize_for_inference); load time; peak RSS of one load-and-run process; file sizes; the speed-up
the optimize passes give; our GEMM against NumPy; and libesm.a's size. Run it as

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 python3 -m benchmarks.runtime [--quick]

(the OpenBLAS variables are unset for this command only, so NumPy's BLAS picks its best kernel).
Ratios are libesm / other: below 1 means libesm is faster.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import eager
import export
import jitscript
from benchmarks import gemm
from examples.digits.model import DigitsCNN
from export import native
from tests.models import cnn, mlp, residual, rnn, transformer

THREADS = (1, 2)
BATCHES = (1, 32)
SEQUENCE = 32  # LSTM steps


@dataclass(frozen=True)
class Case:
    """One benchmark model: the eager builder, its PyTorch twin, and the input shape after the batch."""

    name: str
    build: Callable
    torch_twin: Callable  # () -> torch.nn.Module with the eager model's parameter names
    shape: tuple


def _torch_twins() -> dict[str, Callable]:
    """PyTorch modules written like the eager ones (same attribute names, same forward)."""
    import torch
    from torch import nn as tnn
    functional = torch.nn.functional

    class MLP(tnn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = tnn.Linear(12, 32), tnn.Linear(32, 32), tnn.Linear(32, 5)

        def forward(self, x):
            return self.fc3(functional.gelu(self.fc2(torch.relu(self.fc1(x)))))

    class CNN(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8)
            self.conv2, self.bn2 = tnn.Conv2d(8, 16, 3, padding=1), tnn.BatchNorm2d(16)
            self.pool, self.gap, self.fc = tnn.MaxPool2d(2), tnn.AdaptiveAvgPool2d(1), tnn.Linear(16, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.bn1(self.conv1(x))))
            x = self.gap(self.pool(torch.relu(self.bn2(self.conv2(x)))))
            return self.fc(x.reshape(x.shape[0], -1))

    class BasicBlock(tnn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1, self.bn1 = tnn.Conv2d(c, c, 3, padding=1, bias=False), tnn.BatchNorm2d(c)
            self.conv2, self.bn2 = tnn.Conv2d(c, c, 3, padding=1, bias=False), tnn.BatchNorm2d(c)

        def forward(self, x):
            return torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))) + x)

    class ResidualNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.stem, self.block = tnn.Conv2d(3, 8, 3, padding=1), BasicBlock(8)
            self.pool, self.fc = tnn.AvgPool2d(2), tnn.Linear(8 * 4 * 4, 4)

        def forward(self, x):
            return self.fc(self.pool(self.block(torch.relu(self.stem(x)))).flatten(1))

    class Encoder(tnn.Module):
        def __init__(self):
            super().__init__()
            self.layer = tnn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0, activation="gelu",
                                                     batch_first=True)
            self.head = tnn.Linear(16, 3)

        def forward(self, x):
            return self.head(self.layer(x).mean(1))

    class LSTMClassifier(tnn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.head = tnn.LSTM(6, 8, batch_first=True), tnn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.lstm(x)[0][:, -1])

    class Digits(tnn.Module):
        def __init__(self, c=16):
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(1, c, 3, padding=1), tnn.BatchNorm2d(c), tnn.ReLU(), tnn.MaxPool2d(2),
                tnn.Conv2d(c, 2 * c, 3, padding=1), tnn.BatchNorm2d(2 * c), tnn.ReLU(), tnn.MaxPool2d(2))
            self.classifier = tnn.Linear(2 * c * 4, 10)

        def forward(self, x):
            return self.classifier(self.features(x).flatten(1))

    return {"mlp": MLP, "cnn": CNN, "residual": ResidualNet, "transformer": Encoder, "lstm32": LSTMClassifier,
            "digits_cnn": Digits}


def cases() -> list[Case]:
    """The six benchmark models."""
    twins = _torch_twins()

    def digits():
        eager.manual_seed(0)
        return DigitsCNN().eval()
    return [Case("mlp", mlp.build, twins["mlp"], (12,)), Case("cnn", cnn.build, twins["cnn"], (3, 16, 16)),
            Case("residual", residual.build, twins["residual"], (3, 8, 8)),
            Case("transformer", transformer.build, twins["transformer"], (6, 16)),
            Case("lstm32", rnn.build_lstm, twins["lstm32"], (SEQUENCE, 6)),
            Case("digits_cnn", digits, twins["digits_cnn"], (1, 8, 8))]


def torch_copy(case: Case, model):
    """The PyTorch twin with the eager model's parameters and buffers copied in, in eval mode."""
    import torch
    twin = case.torch_twin()
    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in model.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    return twin.eval()


def export_all(case: Case, model, twin, out: Path) -> dict[str, Path]:
    """The .esm (optimized and not) and .onnx files of one model."""
    import torch
    example = (eager.randn(2, *case.shape),)
    traced = jitscript.trace(model, example, dynamic_batch=True)
    paths = {"esm": out / f"{case.name}.esm", "esm_noopt": out / f"{case.name}.noopt.esm",
             "onnx": out / f"{case.name}.onnx"}
    export.save(jitscript.optimize(traced), paths["esm"])
    export.save(jitscript.trace(model, example, dynamic_batch=True), paths["esm_noopt"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(twin, (torch.randn(2, *case.shape),), str(paths["onnx"]), input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, dynamo=False,
                          opset_version=17)
    return paths


def timings(fn: Callable, seconds: float, min_runs: int = 10) -> np.ndarray:
    """Per-call latencies (ms) of fn, for at least `seconds` and `min_runs` calls, after warm-up."""
    for _ in range(3):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1e3


def stats(ms: np.ndarray) -> tuple[float, float]:
    """(median, p90) in ms."""
    return float(np.median(ms)), float(np.percentile(ms, 90))


def esm_run() -> Path:
    """The esm-run executable next to the shared library."""
    return native.library_path().parent / "esm-run"


ESM_RUN_PROCESSES = 3  # medians of one batch-32, 2-thread model moved 43-57 us from process to process


def esm_run_bench(path: Path, x_file: Path, threads: int, runs: int) -> tuple[float, float]:
    """(median, p90) ms from `esm-run --bench` (no Python in the timed loop): the middle one of
    ESM_RUN_PROCESSES processes' medians and p90s (where the arena and the threads land differs per
    process; one process's figure is the luck of one draw)."""
    medians, p90s = [], []
    for _ in range(ESM_RUN_PROCESSES):
        out = subprocess.run([str(esm_run()), str(path), "--input", str(x_file), "--threads", str(threads),
                              "--bench", str(runs)], check=True, capture_output=True, text=True).stdout
        line = next(s for s in out.splitlines() if s.startswith("bench:"))
        fields = {part.split()[0]: float(part.split()[1]) for part in line.split(", ")[1:] if part.endswith(" ms")}
        medians.append(fields["median"])
        p90s.append(fields["p90"])
    return float(np.median(medians)), float(np.median(p90s))


def ort_session(path: Path, threads: int):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def torch_runners(twin, x: np.ndarray) -> dict[str, Callable]:
    """Eager PyTorch and TorchScript (trace + freeze + optimize_for_inference) closures on x."""
    import torch
    tx = torch.from_numpy(x)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(twin, (tx,))))

    def eager_run():
        with torch.no_grad():
            return twin(tx)

    def script_run():
        with torch.no_grad():
            return scripted(tx)
    return {"torch": eager_run, "torchscript": script_run}


def latency_rows(case: Case, paths: dict, twin, args, tmp: Path) -> list[dict]:
    """One row per (threads, batch): median/p90 of every runtime, checked against PyTorch first."""
    rows = []
    for threads in THREADS:
        for batch in BATCHES:
            x = np.random.default_rng(batch).standard_normal((batch, *case.shape)).astype(np.float32)
            x_file = tmp / f"{case.name}_{batch}.npy"
            np.save(x_file, x)
            row = {"model": case.name, "threads": threads, "batch": batch,
                   "libesm": esm_run_bench(paths["esm"], x_file, threads, args.runs),
                   "libesm_noopt": esm_run_bench(paths["esm_noopt"], x_file, threads, args.runs)}
            row.update(in_process(paths, twin, x, threads, args.seconds))
            rows.append(row)
    return rows


def in_process(paths: dict, twin, x: np.ndarray, threads: int, seconds: float) -> dict[str, tuple]:
    """(median, p90) of libesm via ctypes, ONNX Runtime, PyTorch and TorchScript, one runtime alive at a
    time (an idle thread pool that spins would otherwise steal the next runtime's cores)."""
    import torch
    torch.set_num_threads(threads)
    torch_fns = torch_runners(twin, x)
    ref = torch_fns["torch"]().numpy()
    result = {name: stats(timings(fn, seconds)) for name, fn in torch_fns.items()}
    torch.set_num_threads(1)
    c_model = native.load(paths["esm"], threads=threads)
    np.testing.assert_allclose(c_model.run(x)[0], ref, rtol=1e-3, atol=1e-4)
    result["libesm_ctypes"] = stats(timings(lambda: c_model.run(x), seconds))
    c_model.close()
    session = ort_session(paths["onnx"], threads)
    np.testing.assert_allclose(session.run(None, {"x": x})[0], ref, rtol=1e-3, atol=1e-4)
    result["onnxruntime"] = stats(timings(lambda: session.run(None, {"x": x}), seconds))
    return result  # the session is dropped here, before the next row's runtimes start


def load_ms(path: Path, x: np.ndarray, repeats: int) -> dict[str, float]:
    """Median ms from file to first inference: libesm (ctypes) and ONNX Runtime, 1 thread."""
    def esm():
        native.load(path["esm"], threads=1).run(x)

    def ort():
        ort_session(path["onnx"], 1).run(None, {"x": x})
    return {name: float(np.median(timings(fn, 0, repeats))) for name, fn in (("libesm", esm), ("onnxruntime", ort))}


ORT_SCRIPT = ("import sys, numpy as np, onnxruntime as ort\n"
              "o = ort.SessionOptions(); o.intra_op_num_threads = 1\n"
              "s = ort.InferenceSession(sys.argv[1], o, providers=['CPUExecutionProvider'])\n"
              "s.run(None, {'x': np.load(sys.argv[2])})\n")


def peak_rss_mb(command: list[str]) -> float:
    """Peak resident set size (MB) of one process running `command`, from /usr/bin/time (our own rusage
    would count the fork of this big Python process before its exec)."""
    with tempfile.NamedTemporaryFile("r") as report:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *command], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return int(report.read().split()[-1]) / 1024


def memory_and_size(case: Case, paths: dict, tmp: Path) -> dict[str, float]:
    """Peak RSS of esm-run and of a minimal onnxruntime script (one load + run, batch 1), file sizes."""
    x_file = tmp / f"{case.name}_1.npy"
    return {"rss_esm": peak_rss_mb([str(esm_run()), str(paths["esm"]), "--input", str(x_file)]),
            "rss_ort": peak_rss_mb([sys.executable, "-c", ORT_SCRIPT, str(paths["onnx"]), str(x_file)]),
            "kb_esm": paths["esm"].stat().st_size / 1024, "kb_onnx": paths["onnx"].stat().st_size / 1024}


def print_latency(rows: list[dict]) -> None:
    names = ("libesm", "libesm_ctypes", "onnxruntime", "torch", "torchscript")
    print("\n## Latency, us (median / p90); ratios: libesm (esm-run) median / other median; "
          "ctypes+: binding cost, us")
    print(f"{'model':<12}{'thr':>4}{'batch':>6}" + "".join(f"{n:>16}" for n in names)
          + f"{'/ort':>7}{'/torch':>7}{'/ts':>7}{'ctypes+':>9}")
    for r in rows:
        ours = r["libesm"][0]
        print(f"{r['model']:<12}{r['threads']:>4}{r['batch']:>6}"
              + "".join(f"{1e3 * r[n][0]:>8.1f}/{1e3 * r[n][1]:<7.1f}" for n in names)
              + f"{ours / r['onnxruntime'][0]:>7.2f}{ours / r['torch'][0]:>7.2f}{ours / r['torchscript'][0]:>7.2f}"
              + f"{1e3 * (r['libesm_ctypes'][0] - ours):>9.1f}")


def print_passes(rows: list[dict]) -> None:
    print("\n## Optimize passes: libesm median us without / with jitscript.optimize (speed-up)")
    for r in rows:
        print(f"{r['model']:<12}{r['threads']:>4}{r['batch']:>6}  {1e3 * r['libesm_noopt'][0]:>9.1f} / "
              f"{1e3 * r['libesm'][0]:<9.1f} = {r['libesm_noopt'][0] / r['libesm'][0]:.2f}x")


def print_footprint(per_model: dict[str, dict]) -> None:
    print("\n## Load (file -> first inference, batch 1, 1 thread, median ms), peak RSS (MB), file size (KB)")
    print(f"{'model':<12}{'load esm':>9}{'load ort':>9}{'ratio':>6}{'RSS esm-run':>12}{'RSS ort.py':>11}"
          f"{'.esm KB':>9}{'.onnx KB':>9}")
    for name, m in per_model.items():
        print(f"{name:<12}{m['libesm']:>9.3f}{m['onnxruntime']:>9.3f}{m['libesm'] / m['onnxruntime']:>6.2f}"
              f"{m['rss_esm']:>12.1f}{m['rss_ort']:>11.1f}{m['kb_esm']:>9.1f}{m['kb_onnx']:>9.1f}")
    python_rss = peak_rss_mb([sys.executable, "-c", "import numpy"])
    print(f"(a bare `python3 -c 'import numpy'` peaks at {python_rss:.1f} MB of the ONNX Runtime script's RSS)")


def print_load_1mb(tmp: Path, repeats: int) -> None:
    """Load time of a 1 MB model: one Linear(512, 512) (1.0 MB of float32 weights)."""
    import torch
    eager.manual_seed(0)
    model = eager.nn.Sequential(eager.nn.Linear(512, 512)).eval()
    case = Case("linear_1mb", lambda: model, lambda: torch.nn.Sequential(torch.nn.Linear(512, 512)), (512,))
    paths = export_all(case, model, torch_copy(case, model), tmp)
    ms = load_ms(paths, np.zeros((1, 512), np.float32), repeats)
    print(f"1 MB model (Linear 512x512, .esm {paths['esm'].stat().st_size / 2**20:.2f} MiB): load + first run "
          f"libesm {ms['libesm']:.3f} ms (ctypes, Python included), onnxruntime {ms['onnxruntime']:.3f} ms")


def print_gemm(sizes: list[int]) -> None:
    """Our SGEMM against NumPy/OpenBLAS, one thread (benchmarks.gemm.compare)."""
    print(f"\n## GEMM, 1 thread: NumPy BLAS {gemm.numpy_blas()} (best of 5 alternations; ratio: their median)")
    for n, kernel, gflops, theirs, ratio in gemm.compare(sizes):
        print(f"{n:>5}^3  ours ({kernel}) {gflops:7.1f} GFLOP/s  NumPy {theirs:7.1f} GFLOP/s  ratio {ratio:.0%}")


def print_library_size() -> None:
    """libesm.a of the Release build, and of a MinSizeRel (-Os) build configured on the side."""
    release = native.library_path().parent / "libesm.a"
    small_dir = native.SOURCE_DIR / "build-minsize"
    quiet = {"check": True, "stdout": subprocess.DEVNULL}
    subprocess.run(["cmake", "-S", str(native.SOURCE_DIR), "-B", str(small_dir), "-DCMAKE_BUILD_TYPE=MinSizeRel",
                    "-DESM_BUILD_TESTS=OFF", "-DESM_BUILD_TOOLS=OFF"], **quiet)
    subprocess.run(["cmake", "--build", str(small_dir), "--target", "esm_static", "-j", "2"], **quiet)
    small = next(small_dir.glob("libesm.a"))
    print(f"\n## libesm.a: Release (-O3) {release.stat().st_size / 1024:.0f} KB, MinSizeRel (-Os) "
          f"{small.stat().st_size / 1024:.0f} KB")


def print_machine() -> None:
    load = os.getloadavg()
    print(f"CPU: {gemm.cpu_model()}, {os.cpu_count()} logical cores; load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} (a shared machine: other jobs run beside this benchmark)")
    print(f"NumPy BLAS: {gemm.numpy_blas()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    import onnxruntime
    import torch
    print(f"libesm {native.version()}, onnxruntime {onnxruntime.__version__}, torch {torch.__version__}")


def measure_models(selected: list[Case], args, tmp: Path, load_repeats: int) -> tuple[list[dict], dict]:
    """Latency rows and per-model load/memory/size figures of every selected case."""
    rows, per_model = [], {}
    for case in selected:
        model = case.build()
        twin = torch_copy(case, model)
        paths = export_all(case, model, twin, tmp)
        rows += latency_rows(case, paths, twin, args, tmp)
        x = np.load(tmp / f"{case.name}_1.npy")
        per_model[case.name] = {**load_ms(paths, x, load_repeats), **memory_and_size(case, paths, tmp)}
        print(f"... {case.name} done", file=sys.stderr, flush=True)
    return rows, per_model


def main(argv: list[str] | None = None) -> None:
    """Run everything and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs per measurement (about a minute)")
    parser.add_argument("--models", nargs="+", help="only these models")
    parser.add_argument("--skip-size", action="store_true", help="skip the -Os build of libesm.a")
    args = parser.parse_args(argv)
    args.seconds, args.runs, load_repeats = (0.05, 50, 5) if args.quick else (0.25, 300, 20)
    # PyTorch's OpenMP workers spin between calls; on a loaded 2-core machine a spinning worker waits
    # whole scheduler slices (8 ms per call at 2 threads). Passive waiting is the fair setting here.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    print_machine()
    selected = [c for c in cases() if not args.models or c.name in args.models]
    with tempfile.TemporaryDirectory() as tmp_name:
        rows, per_model = measure_models(selected, args, Path(tmp_name), load_repeats)
        print_latency(rows)
        print_passes(rows)
        print_footprint(per_model)
        print_load_1mb(Path(tmp_name), load_repeats)
    print_gemm([256, 1024])
    if not args.skip_size and shutil.which("cmake"):
        print_library_size()


if __name__ == "__main__":
    main()
