"""Per-op overhead on 1-element tensors: eager vs PyTorch, side by side in one run.

    python3 -m benchmarks.eager_overhead [--repeat 5] [--number 20000]

Prints microseconds per call for ours and PyTorch's and the ratio (target: within 3x).
NumPy alone costs about a third of a microsecond per call; the rest is dispatch and autograd.
"""
from __future__ import annotations

import argparse
import timeit

import numpy as np

import eager


def _cases(m):
    """name -> a no-argument callable doing one step with module `m` (eager or torch)."""
    a = m.tensor([1.5])
    b = m.tensor([2.5])
    wa = m.tensor([1.5], requires_grad=True)
    wb = m.tensor([2.5], requires_grad=True)

    def forward_backward():
        (wa * wb).sum().backward()

    return {
        "a + b": lambda: a + b,
        "a * 2.0": lambda: a * 2.0,
        "a.exp()": lambda: a.exp(),
        "a.sum()": lambda: a.sum(),
        "a[0]": lambda: a[0],
        "wa + wb (recorded)": lambda: wa + wb,
        "(wa * wb).sum().backward()": forward_backward,
    }


def _best_us(fns, repeat: int, number: int) -> list[float]:
    """Best time per call of each function, in microseconds; the functions take turns in every
    round, so load from other processes hits them alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], timeit.timeit(fn, number=number) / number * 1e6)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    x = np.array([1.5])
    (numpy_us,) = _best_us([lambda: x + x], args.repeat, args.number)
    print(f"numpy x + x: {numpy_us:.2f} us")
    ours = _cases(eager)
    theirs = _cases(torch) if torch else {}
    print(f"{'op':32s} {'eager us':>9s} {'torch us':>9s} {'ratio':>6s}")
    for name, fn in ours.items():
        if name in theirs:
            ours_us, torch_us = _best_us([fn, theirs[name]], args.repeat, args.number)
            print(f"{name:32s} {ours_us:9.2f} {torch_us:9.2f} {ours_us / torch_us:6.2f}")
        else:
            (ours_us,) = _best_us([fn], args.repeat, args.number)
            print(f"{name:32s} {ours_us:9.2f} {'-':>9s} {'-':>6s}")


if __name__ == "__main__":
    main()
