"""The fused recurrent ops: `lstm` and `gru`, a whole layer-direction over a sequence in one node.

`nn.LSTM` and `nn.GRU` apply them once per layer and direction (eager, traced and scripted
alike), so an exported model holds one node per layer-direction instead of ~20 nodes per time
step of the unrolled cell, and the runtime does the input projection of every step as one GEMM
followed by a tight per-step loop (ONNX Runtime's LSTM and GRU ops work the same way).

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


def _lstm_steps(x, h, cell, w_ih, w_hh, b_ih, b_hh):
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


def _projection_grads(x, steps, w_ih, b_ih, b_hh, d_in, d_h):
    """(dx, dW_ih, dW_hh, db_ih, db_hh) from d_in and d_h (T, B, G), the gradients of every step's
    x_t W_ih^T + b_ih and h_(t-1) W_hh^T + b_hh; `steps` start with each step's h_(t-1)."""
    h_prev = stack([s[0] for s in steps], 0)
    flat_in, flat_h = d_in.reshape(-1, d_in.shape[-1]), d_h.reshape(-1, d_h.shape[-1])
    return (d_in @ w_ih, flat_in.t() @ x.reshape(-1, x.shape[-1]), flat_h.t() @ h_prev.reshape(-1, h_prev.shape[-1]),
            None if b_ih is None else flat_in.sum(0), None if b_hh is None else flat_h.sum(0))


def _lstm_vjp(c, g_out, g_h, g_c):
    x, h, cell, w_ih, w_hh, b_ih, b_hh = c.inputs
    steps = _lstm_steps(x, h, cell, w_ih, w_hh, b_ih, b_hh)
    d_pre = [None] * len(steps)
    dh, dc = g_h, g_c
    for t in reversed(range(len(steps))):
        _, c_prev, i, f, g, o, tanh_cell = steps[t]
        dh = dh + g_out[t]
        dc = dc + dh * o * (1 - tanh_cell * tanh_cell)
        d_pre[t] = cat([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                        dh * tanh_cell * o * (1 - o)], -1)
        dh = d_pre[t] @ w_hh
        dc = dc * f
    d_pre = stack(d_pre, 0)  # (T, B, 4H): the gradient of every step's pre-activation gates
    dx, dw_ih, dw_hh, db_ih, db_hh = _projection_grads(x, steps, w_ih, b_ih, b_hh, d_pre, d_pre)
    return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


def _check_recurrent(op, gates, x, states, w_ih, w_hh, b_ih, b_hh):
    """Shapes (T, B, I), states (B, H), weights (gates * H, I) and (gates * H, H), biases
    (gates * H,), one dtype; returns the specs of (every step's h, each final state)."""
    h = states[0]

    def fail(what):
        return OpError(op, f"{what}; got input {tuple(x.shape)}, states {[tuple(t.shape) for t in states]}, "
                       f"weights {tuple(w_ih.shape)} and {tuple(w_hh.shape)}")

    if len(x.shape) != 3 or len(h.shape) != 2 or any(tuple(t.shape) != tuple(h.shape) for t in states):
        raise fail("expects input (T, B, I) and states (B, H)")
    hidden = h.shape[1]
    want = {"weight_ih": (w_ih, (gates * hidden, x.shape[2])), "weight_hh": (w_hh, (gates * hidden, hidden))}
    want.update({name: (b, (gates * hidden,)) for name, b in (("bias_ih", b_ih), ("bias_hh", b_hh)) if b is not None})
    for name, (spec, shape) in want.items():
        known = all(isinstance(d, int) for d in shape + tuple(spec.shape))
        if len(spec.shape) != len(shape) or (known and tuple(spec.shape) != shape):
            raise fail(f"{name} must be {shape}, got {tuple(spec.shape)}")
    if any(t.dtype != x.dtype for t in (*states, w_ih, w_hh, *(b for b in (b_ih, b_hh) if b is not None))):
        raise fail("every input must have the input's dtype")
    state = Spec(x.dtype, tuple(h.shape))
    return (Spec(x.dtype, (x.shape[0], x.shape[1], hidden)),) + (state,) * len(states)


def _lstm_infer(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    return _check_recurrent("lstm", 4, x, (h, c), w_ih, w_hh, b_ih, b_hh)


LSTM = register(OpDef(
    "lstm", forward=_lstm_forward, vjp=_lstm_vjp, infer=_lstm_infer, num_outputs=3, smooth=True,
    doc="One LSTM layer-direction over a sequence: input (T, B, I), h0 and c0 (B, H), weights (4H, I) "
        "and (4H, H), optional biases (4H,) (PyTorch's gate order i, f, g, o) -> every step's h (T, B, H), "
        "the last h and the last c."))


def _check_sequence(op: str, input) -> None:
    if input.ndim != 3 or input.data.shape[0] == 0:
        raise OpError(op, f"expects a non-empty sequence (T, B, I), got shape {tuple(input.shape)}")


def lstm(input, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM layer-direction over a sequence-first input (T, B, I) from state (h0, c0), each
    (B, H); returns (output (T, B, H), h_T, c_T). The step is PyTorch's: gates
    W_ih x_t + b_ih + W_hh h + b_hh split in order (i, f, g, o); c' = sigmoid(f) c + sigmoid(i)
    tanh(g); h' = sigmoid(o) tanh(c')."""
    _check_sequence("lstm", input)
    return apply(LSTM, (input, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh), {})


# ---- gru ------------------------------------------------------------------------------------------
def _gru_forward(xp, x, h, w_ih, w_hh, b_ih, b_hh):
    hidden = h.shape[-1]
    gates_in = x @ w_ih.T if b_ih is None else x @ w_ih.T + b_ih
    out = xp.empty(x.shape[:-1] + (hidden,), dtype=x.dtype)
    for t in range(x.shape[0]):
        gates_h = h @ w_hh.T if b_hh is None else h @ w_hh.T + b_hh
        ir, iz, in_ = (gates_in[t][:, k * hidden:(k + 1) * hidden] for k in range(3))
        hr, hz, hn = (gates_h[:, k * hidden:(k + 1) * hidden] for k in range(3))
        r, z = _sigmoid_forward(xp, ir + hr), _sigmoid_forward(xp, iz + hz)
        n = xp.tanh(in_ + r * hn)
        h = (1 - z) * n + z * h
        out[t] = h
    return out, h.astype(x.dtype)


def _gru_vjp(c, g_out, g_h):
    x, h, w_ih, w_hh, b_ih, b_hh = c.inputs
    projected = linear(x, w_ih, b_ih)
    steps = []  # per step (h_prev, r, z, n, W_hn h + b_hn): the forward again with eager ops
    for t in range(x.shape[0]):
        (ir, iz, in_), (hr, hz, hn) = projected[t].chunk(3, -1), linear(h, w_hh, b_hh).chunk(3, -1)
        r, z = sigmoid(ir + hr), sigmoid(iz + hz)
        n = tanh(in_ + r * hn)
        steps.append((h, r, z, n, hn))
        h = (1 - z) * n + z * h
    d_in, d_h = [None] * len(steps), [None] * len(steps)  # gradients of each step's two projections
    dh = g_h
    for t in reversed(range(len(steps))):
        h_prev, r, z, n, hn = steps[t]
        dh = dh + g_out[t]
        dn = dh * (1 - z) * (1 - n * n)
        dr, dz = dn * hn * r * (1 - r), dh * (h_prev - n) * z * (1 - z)
        d_in[t], d_h[t] = cat([dr, dz, dn], -1), cat([dr, dz, dn * r], -1)
        dh = dh * z + d_h[t] @ w_hh
    dx, dw_ih, dw_hh, db_ih, db_hh = _projection_grads(x, steps, w_ih, b_ih, b_hh, stack(d_in, 0), stack(d_h, 0))
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh


def _gru_infer(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    return _check_recurrent("gru", 3, x, (h,), w_ih, w_hh, b_ih, b_hh)


GRU = register(OpDef(
    "gru", forward=_gru_forward, vjp=_gru_vjp, infer=_gru_infer, num_outputs=2, smooth=True,
    doc="One GRU layer-direction over a sequence: input (T, B, I), h0 (B, H), weights (3H, I) and (3H, H), "
        "optional biases (3H,) (PyTorch's gate order r, z, n) -> every step's h (T, B, H) and the last h."))


def gru(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU layer-direction over a sequence-first input (T, B, I) from state h0 (B, H);
    returns (output (T, B, H), h_T). The step is PyTorch's: r = sigmoid(W_ir x + b_ir + W_hr h +
    b_hr), z likewise, n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h."""
    _check_sequence("gru", input)
    return apply(GRU, (input, h0, weight_ih, weight_hh, bias_ih, bias_hh), {})
