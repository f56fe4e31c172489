"""The main job: train a small model eagerly and report its accuracy.

Later stages (export by trace and by script, the C runtime) extend this script as they land.
"""
from __future__ import annotations

import numpy as np

import eager


def main() -> None:
    eager.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 2)).astype(np.float32)
    y = ((x[:, 0] * x[:, 1]) > 0).astype(np.float32)[:, None]
    w1 = (eager.randn(2, 32) * 0.5).requires_grad_()
    b1 = eager.zeros(32, requires_grad=True)
    w2 = (eager.randn(32, 1) * 0.5).requires_grad_()
    b2 = eager.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    xt, yt = eager.tensor(x), eager.tensor(y)
    for _ in range(300):
        logits = (xt @ w1 + b1).tanh() @ w2 + b2
        p = logits.sigmoid()
        loss = -(yt * (p + 1e-7).log() + (1 - yt) * (1 - p + 1e-7).log()).mean()
        for t in params:
            t.grad = None
        loss.backward()
        with eager.no_grad():
            for t in params:
                t.data -= 0.5 * t.grad.data
    acc = float((((logits > 0).float()) == yt).float().mean())
    print(f"xor-like task: loss {float(loss):.4f}, train accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
