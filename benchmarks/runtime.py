"""Model latency: the C runtime (libesm) against PyTorch and ONNX Runtime, side by side, one thread.

The same MLP weights run in all three (eager -> trace -> optimize -> .esm for libesm; torch.nn
for PyTorch; an ONNX Gemm/Relu graph for ONNX Runtime), at each batch size; prints the median
latency of each and libesm's ratio to the others (< 1: libesm is faster). Run it as

    OMP_NUM_THREADS=1 python3 -m benchmarks.runtime [--batches 1 64] [--repeats 200]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import eager
import export
import jitscript
from eager import nn
from export import native

SIZES = (784, 512, 512, 10)


def build_mlp() -> nn.Module:
    eager.manual_seed(0)
    layers = []
    for i in range(len(SIZES) - 1):
        layers.append(nn.Linear(SIZES[i], SIZES[i + 1]))
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).eval()
    for p in model.parameters():
        p.requires_grad = False
    return model


def weights(model: nn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(m.weight.numpy(), m.bias.numpy()) for m in model.modules() if isinstance(m, nn.Linear)]


def median_ms(fn, repeats: int) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def torch_runner(ws):
    import torch

    torch.set_num_threads(1)
    layers = []
    for i, (w, b) in enumerate(ws):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        lin.weight.data, lin.bias.data = torch.from_numpy(w.copy()), torch.from_numpy(b.copy())
        layers += [lin] + ([torch.nn.ReLU()] if i < len(ws) - 1 else [])
    model = torch.nn.Sequential(*layers).eval()

    def run(x):
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()
    return run


def onnx_runner(ws, path: Path):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, prev = [], [], "x"
    for i, (w, b) in enumerate(ws):
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [f"g{i}"], transB=1))
        prev = f"g{i}"
        if i < len(ws) - 1:
            nodes.append(helper.make_node("Relu", [prev], [f"r{i}"]))
            prev = f"r{i}"
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", SIZES[0]])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["N", SIZES[-1]])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x})[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    model = build_mlp()
    ws = weights(model)
    with tempfile.TemporaryDirectory() as tmp:
        example = (eager.randn(2, SIZES[0]),)
        export.save(jitscript.optimize(jitscript.trace(model, example, dynamic_batch=True)), Path(tmp) / "mlp.esm")
        c_model = native.load(Path(tmp) / "mlp.esm", threads=1)
        runners = {"libesm": lambda x: c_model.run(x)[0], "torch": torch_runner(ws),
                   "onnxruntime": onnx_runner(ws, Path(tmp) / "mlp.onnx")}
        print(f"MLP {'-'.join(map(str, SIZES))}, float32, 1 thread, median of {args.repeats} runs")
        for batch in args.batches:
            x = np.random.default_rng(batch).standard_normal((batch, SIZES[0])).astype(np.float32)
            ref = runners["torch"](x)
            for run in runners.values():
                np.testing.assert_allclose(run(x), ref, rtol=1e-3, atol=1e-4)
            ms = {name: median_ms(lambda run=run, x=x: run(x), args.repeats) for name, run in runners.items()}
            print(f"batch {batch:4d}: " + ", ".join(f"{k} {v:.3f} ms" for k, v in ms.items())
                  + f" | libesm/torch {ms['libesm'] / ms['torch']:.2f}x, libesm/onnxruntime "
                  f"{ms['libesm'] / ms['onnxruntime']:.2f}x")


if __name__ == "__main__":
    main()
