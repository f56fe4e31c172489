"""Rows for the fused recurrent ops `lstm` and `gru` (eager/ops/recurrent.py), against
per-element NumPy references (PyTorch has no public functional form with these signatures;
tests/nn/test_rnn.py compares nn.LSTM and nn.GRU, which apply the ops, with PyTorch's)."""
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


def gru_reference(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """Scalar loops over time, batch and gate unit: (outputs (T, B, H), h_T)."""
    steps, batch, _ = x.shape
    hidden = h.shape[1]
    h, out = h.copy(), np.zeros((steps, batch, hidden))
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    for t in range(steps):
        new_h = np.zeros_like(h)
        for b in range(batch):
            for j in range(hidden):
                gi = [x[t, b] @ w_ih[k * hidden + j] + (0 if b_ih is None else b_ih[k * hidden + j]) for k in range(3)]
                gh = [h[b] @ w_hh[k * hidden + j] + (0 if b_hh is None else b_hh[k * hidden + j]) for k in range(3)]
                r, z = sig(gi[0] + gh[0]), sig(gi[1] + gh[1])
                n = math.tanh(gi[2] + r * gh[2])
                new_h[b, j] = (1 - z) * n + z * h[b, j]
        h = new_h
        out[t] = h
    return out, h


def _lstm(m, *inputs):
    return m.ops.recurrent.lstm(*inputs)


def _gru(m, *inputs):
    return m.ops.recurrent.gru(*inputs)


def _shapes(steps, batch, features, hidden, bias=True, gates=4):
    weights = [(gates * hidden, features), (gates * hidden, hidden)] + [(gates * hidden,)] * (2 if bias else 0)
    return [(steps, batch, features)] + [(batch, hidden)] * (2 if gates == 4 else 1) + weights


CASES = [
    Case("lstm", _lstm, lstm_reference, _shapes(3, 2, 3, 4), torch=False, gradgrad=True),
    Case("lstm", _lstm, lstm_reference, _shapes(1, 1, 1, 1), torch=False, id="sizes-1"),
    Case("lstm", _lstm, lstm_reference, _shapes(5, 3, 17, 3, bias=False), torch=False, id="odd-sizes-no-bias"),
    Case("lstm", _lstm, lstm_reference, _shapes(4, 17, 5, 9), torch=False, grad=False, id="batch-17-hidden-9"),
    # big enough for the C kernel's packed SGEMM in the per-step product (B * H * 4H >= 16384)
    Case("lstm", _lstm, lstm_reference, _shapes(2, 4, 3, 32), torch=False, grad=False, id="sgemm-sized"),
    Case("gru", _gru, gru_reference, _shapes(3, 2, 3, 4, gates=3), torch=False, gradgrad=True),
    Case("gru", _gru, gru_reference, _shapes(1, 1, 1, 1, gates=3), torch=False, id="sizes-1"),
    Case("gru", _gru, gru_reference, _shapes(5, 3, 17, 3, bias=False, gates=3), torch=False, id="odd-sizes-no-bias"),
    Case("gru", _gru, gru_reference, _shapes(4, 17, 5, 9, gates=3), torch=False, grad=False, id="batch-17-hidden-9"),
    Case("gru", _gru, gru_reference, _shapes(2, 4, 3, 40, gates=3), torch=False, grad=False, id="sgemm-sized"),
]
