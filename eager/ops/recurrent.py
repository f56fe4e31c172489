"""The fused recurrent op: `lstm`, a whole LSTM layer-direction over a sequence in one node.

`nn.LSTM` applies it once per layer and direction (eager, traced and scripted alike), so an
exported model holds one node per layer-direction instead of the ~20 nodes per time step of the
unrolled cell, and the runtime does the input projection of every step as one GEMM followed by
a tight per-step loop (ONNX Runtime's LSTM op works the same way).

Gradients: the VJP is back-propagation through time written with eager ops (it recomputes the
gates from the saved inputs, then walks the steps backwards), so `create_graph=True` and
higher-order gradients work like any other op's.
"""
from __future__ import annotations

from ..errors import OpError
from .dispatch import apply
from .elementwise import _sigmoid_forward, sigmoid, tanh
from .linalg import linear
from .registry import OpDef, Spec, register
from .shape import cat, stack


def _lstm_forward(xp, x, h, c, w_ih, w_hh, b_ih, b_hh):
    hidden = h.shape[-1]
    gates_in = x @ w_ih.T  # every step's input projection at once
    for b in (b_ih, b_hh):
        if b is not None:
            gates_in = gates_in + b
    out = xp.empty(x.shape[:-1] + (hidden,), dtype=x.dtype)
    for t in range(x.shape[0]):
        gates = gates_in[t] + h @ w_hh.T
        i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
        c = _sigmoid_forward(xp, f) * c + _sigmoid_forward(xp, i) * xp.tanh(g)
        h = _sigmoid_forward(xp, o) * xp.tanh(c)
        out[t] = h
    return out, h.astype(x.dtype), c.astype(x.dtype)


def _gates(x, h, cell, w_ih, w_hh, b_ih, b_hh):
    """The forward again with eager ops: per step (h_prev, c_prev, i, f, g, o, tanh(c))."""
    projected = linear(x, w_ih, b_ih)
    steps = []
    for t in range(x.shape[0]):
        i, f, g, o = (projected[t] + linear(h, w_hh, b_hh)).chunk(4, -1)
        i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
        new_cell = f * cell + i * g
        tanh_cell = tanh(new_cell)
        steps.append((h, cell, i, f, g, o, tanh_cell))
        h, cell = o * tanh_cell, new_cell
    return steps


def _lstm_vjp(c, g_out, g_h, g_c):
    x, h, cell, w_ih, w_hh, b_ih, b_hh = c.inputs
    steps = _gates(x, h, cell, w_ih, w_hh, b_ih, b_hh)
    d_pre = [None] * len(steps)
    dh, dc = g_h, g_c
    for t in reversed(range(len(steps))):
        h_prev, c_prev, i, f, g, o, tanh_cell = steps[t]
        dh = dh + g_out[t]
        dc = dc + dh * o * (1 - tanh_cell * tanh_cell)
        d_pre[t] = cat([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                        dh * tanh_cell * o * (1 - o)], -1)
        dh = d_pre[t] @ w_hh
        dc = dc * f
    d_pre = stack(d_pre, 0)  # (T, B, 4H): the gradient of every step's pre-activation gates
    flat = d_pre.reshape(-1, d_pre.shape[-1])
    h_prev = stack([s[0] for s in steps], 0)
    d_bias = flat.sum(0)
    return (d_pre @ w_ih, dh, dc, flat.t() @ x.reshape(-1, x.shape[-1]),
            flat.t() @ h_prev.reshape(-1, h_prev.shape[-1]),
            None if b_ih is None else d_bias, None if b_hh is None else d_bias)


def _lstm_infer(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    def fail(what):
        return OpError("lstm", f"{what}; got input {tuple(x.shape)}, states {tuple(h.shape)} and {tuple(c.shape)}, "
                       f"weights {tuple(w_ih.shape)} and {tuple(w_hh.shape)}")

    if len(x.shape) != 3 or len(h.shape) != 2 or tuple(c.shape) != tuple(h.shape):
        raise fail("expects input (T, B, I) and states (B, H)")
    hidden = h.shape[1]
    want = {"weight_ih": (w_ih, (4 * hidden, x.shape[2])), "weight_hh": (w_hh, (4 * hidden, hidden))}
    want.update({name: (b, (4 * hidden,)) for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)) if b is not None})
    for name, (spec, shape) in want.items():
        known = all(isinstance(d, int) for d in shape + tuple(spec.shape))
        if len(spec.shape) != len(shape) or (known and tuple(spec.shape) != shape):
            raise fail(f"{name} must be {shape}, got {tuple(spec.shape)}")
    if any(t.dtype != x.dtype for t in (h, c, w_ih, w_hh, *(b for b in (b_ih, b_hh) if b is not None))):
        raise fail("every input must have the input's dtype")
    state = Spec(x.dtype, tuple(h.shape))
    return Spec(x.dtype, (x.shape[0], x.shape[1], hidden)), state, state


LSTM = register(OpDef(
    "lstm", forward=_lstm_forward, vjp=_lstm_vjp, infer=_lstm_infer, num_outputs=3, smooth=True,
    doc="One LSTM layer-direction over a sequence: input (T, B, I), h0 and c0 (B, H), weights (4H, I) "
        "and (4H, H), optional biases (4H,) (PyTorch's gate order i, f, g, o) -> every step's h (T, B, H), "
        "the last h and the last c."))


def lstm(input, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM layer-direction over a sequence-first input (T, B, I) from state (h0, c0), each
    (B, H); returns (output (T, B, H), h_T, c_T). The step is PyTorch's: gates
    W_ih x_t + b_ih + W_hh h + b_hh split in order (i, f, g, o); c' = sigmoid(f) c + sigmoid(i)
    tanh(g); h' = sigmoid(o) tanh(c')."""
    if input.ndim != 3 or input.data.shape[0] == 0:
        raise OpError("lstm", f"expects a non-empty sequence (T, B, I), got shape {tuple(input.shape)}")
    return apply(LSTM, (input, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh), {})
