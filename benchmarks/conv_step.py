"""Forward + backward of one conv2d layer, eager vs PyTorch side by side (float32, CPU).

The default case is the first layer of the benchmark CNN: conv 1->16, 3x3, padding 1, on a
batch of 64 28x28 images (the input needs no gradient); the second is the benchmark CNN's second
layer, whose input gradient is needed. Both libraries get the same thread count.

    python3 -m benchmarks.conv_step [--threads 1] [--repeat 30]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import eager


def _best_time(step, repeat: int) -> float:
    step()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - start)
    return best


def _step(m, x, w, b, padding):
    def run():
        w.grad = b.grad = x.grad = None
        out = m.nn.functional.conv2d(x, w, b, padding=padding)
        out.sum().backward()
    return run


def compare(batch: int, c_in: int, c_out: int, size: int, kernel: int, input_grad: bool, repeat: int) -> tuple:
    """Best-of-`repeat` seconds per forward+backward step for eager and PyTorch."""
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, c_in, size, size)).astype(np.float32)
    w = rng.standard_normal((c_out, c_in, kernel, kernel)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    pad = kernel // 2
    ours = _step(eager, eager.tensor(x, requires_grad=input_grad), eager.tensor(w, requires_grad=True),
                 eager.tensor(b, requires_grad=True), pad)
    theirs = _step(torch, torch.tensor(x, requires_grad=input_grad), torch.tensor(w, requires_grad=True),
                   torch.tensor(b, requires_grad=True), pad)
    return _best_time(ours, repeat), _best_time(theirs, repeat)


def main() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for both PyTorch and NumPy's BLAS")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cases = [(64, 1, 16, 28, 3, False), (64, 16, 32, 14, 3, True)]
    print(f"threads: {args.threads}")
    print(f"{'case':44} {'eager ms':>9} {'torch ms':>9} {'ratio':>6}")
    with threadpool_limits(limits=args.threads):
        for batch, c_in, c_out, size, kernel, input_grad in cases:
            ours, theirs = compare(batch, c_in, c_out, size, kernel, input_grad, args.repeat)
            name = f"conv {c_in}->{c_out} {kernel}x{kernel} on {batch}x{size}x{size}" + (" +grad x" * input_grad)
            print(f"{name:44} {ours * 1e3:9.3f} {theirs * 1e3:9.3f} {ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
