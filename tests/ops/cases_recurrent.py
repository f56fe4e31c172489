"""Rows for the fused recurrent op `lstm` (eager/ops/recurrent.py), against a per-element NumPy
reference (PyTorch has no public functional form with this signature; tests/nn/test_rnn.py
compares nn.LSTM, which applies the op, with torch.nn.LSTM)."""
from __future__ import annotations

import math

import numpy as np

from .case import Case


def lstm_reference(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """Scalar loops over time, batch and gate unit: (outputs (T, B, H), h_T, c_T)."""
    steps, batch, _ = x.shape
    hidden = h.shape[1]
    h, c, out = h.copy(), c.copy(), np.zeros((steps, batch, hidden))
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    for t in range(steps):
        new_h, new_c = np.zeros_like(h), np.zeros_like(c)
        for b in range(batch):
            for j in range(hidden):
                pre = [x[t, b] @ w_ih[k * hidden + j] + h[b] @ w_hh[k * hidden + j]
                       + (0 if b_ih is None else b_ih[k * hidden + j]) + (0 if b_hh is None else b_hh[k * hidden + j])
                       for k in range(4)]
                new_c[b, j] = sig(pre[1]) * c[b, j] + sig(pre[0]) * math.tanh(pre[2])
                new_h[b, j] = sig(pre[3]) * math.tanh(new_c[b, j])
        h, c = new_h, new_c
        out[t] = h
    return out, h, c


def _lstm(m, *inputs):
    return m.ops.recurrent.lstm(*inputs)


def _shapes(steps, batch, features, hidden, bias=True):
    weights = [(4 * hidden, features), (4 * hidden, hidden)] + [(4 * hidden,)] * (2 if bias else 0)
    return [(steps, batch, features), (batch, hidden), (batch, hidden)] + weights


CASES = [
    Case("lstm", _lstm, lstm_reference, _shapes(3, 2, 3, 4), torch=False, gradgrad=True),
    Case("lstm", _lstm, lstm_reference, _shapes(1, 1, 1, 1), torch=False, id="sizes-1"),
    Case("lstm", _lstm, lstm_reference, _shapes(5, 3, 17, 3, bias=False), torch=False, id="odd-sizes-no-bias"),
    Case("lstm", _lstm, lstm_reference, _shapes(4, 17, 5, 9), torch=False, grad=False, id="batch-17-hidden-9"),
    # big enough for the C kernel's packed SGEMM in the per-step product (B * H * 4H >= 16384)
    Case("lstm", _lstm, lstm_reference, _shapes(2, 4, 3, 32), torch=False, grad=False, id="sgemm-sized"),
]
