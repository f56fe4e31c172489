"""Time per training step (forward, loss, backward, optimizer step), eager vs PyTorch CPU side
by side in one run, at the same thread count, with the same initial weights.

Cases: MLP 64-128-128-10 (batch 64), MLP 784-256-256-10 (batch 128), and a CNN on 1x28x28
(conv 1->16 3x3 pad 1, ReLU, maxpool 2, conv 16->32 3x3 pad 1, ReLU, maxpool 2, linear
1568->10; batch 64). Targets: within 2x of PyTorch on the MLPs, 3x on the CNN. A cProfile
summary of the case with the worst ratio follows the table.

    python3 -m benchmarks.train_step [--threads 1] [--rounds 7] [--no-profile]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from collections.abc import Callable

import numpy as np

import eager


def mlp(m, sizes: list[int]):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(m.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(m.nn.ReLU())
    return m.nn.Sequential(*layers)


def cnn(m):
    nn = m.nn
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(1568, 10))


CASES = [
    ("MLP 64-128-128-10, batch 64", lambda m: mlp(m, [64, 128, 128, 10]), (64, 64), 2.0),
    ("MLP 784-256-256-10, batch 128", lambda m: mlp(m, [784, 256, 256, 10]), (128, 784), 2.0),
    ("CNN 1x28x28, batch 64", cnn, (64, 1, 28, 28), 3.0),
]


def make_step(m, model, x, y) -> Callable[[], None]:
    """One SGD-with-momentum training step on a fixed batch."""
    optimizer = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = m.nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    return step


def seconds_per_step(step: Callable[[], None], rounds: int, round_seconds: float = 0.15) -> float:
    """Median over `rounds` of the mean step time in a round of about `round_seconds`."""
    for _ in range(3):
        step()
    start = time.perf_counter()
    step()
    per_round = max(1, int(round_seconds / max(time.perf_counter() - start, 1e-6)))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            step()
        times.append((time.perf_counter() - start) / per_round)
    return statistics.median(times)


def build_pair(build, shape: tuple):
    """The same model in PyTorch and in eager (torch's initial weights copied in), and a batch."""
    import torch

    torch.manual_seed(0)
    theirs = build(torch)
    ours = build(eager)
    ours.load_state_dict({k: eager.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, shape[0])
    return (make_step(eager, ours, eager.tensor(x), eager.tensor(y)),
            make_step(torch, theirs, torch.tensor(x), torch.tensor(y)))


def profile(step: Callable[[], None], steps: int = 50, top: int = 18) -> str:
    """cProfile text of `steps` steps, sorted by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for both PyTorch and NumPy's BLAS")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        print(f"threads: {args.threads} (torch {torch.__version__}, numpy {np.__version__})")
        print(f"{'case':32} {'eager ms':>9} {'torch ms':>9} {'ratio':>7} {'target':>7}")
        worst = None
        for name, build, shape, target in CASES:
            ours, theirs = build_pair(build, shape)
            t_ours, t_theirs = seconds_per_step(ours, args.rounds), seconds_per_step(theirs, args.rounds)
            ratio = t_ours / t_theirs
            verdict = "ok" if ratio <= target else "MISS"
            print(f"{name:32} {t_ours * 1e3:9.3f} {t_theirs * 1e3:9.3f} {ratio:6.2f}x {target:5.1f}x {verdict}")
            if worst is None or ratio / target > worst[0]:
                worst = (ratio / target, name, ours)
        if not args.no_profile:
            print(f"\ncProfile of the eager step, worst case against its target: {worst[1]}")
            print(profile(worst[2]))


if __name__ == "__main__":
    main()
