"""Recurrent layers: `RNN`, `LSTM`, `GRU` (multi-layer, bidirectional, `batch_first`, initial
state) and their cells, with PyTorch's parameter names (`weight_ih_l0`, `bias_hh_l1_reverse`,
...) and gate order, so state dicts map 1:1.

The input projection of a whole sequence is one matmul; only the recurrent part loops over time.
An LSTM or GRU layer-direction is one fused op (`eager.ops.recurrent`), which runtimes execute
as one GEMM and a tight per-step loop; Elman RNN layers unroll their step over time.
"""
from __future__ import annotations

import math

from .. import creation
from ..errors import OpError
from ..ops.recurrent import gru, lstm
from ..ops.shape import cat, stack
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(nonlinearity):
    def step(gi, h, w_hh, b_hh):
        return nonlinearity(gi + F.linear(h, w_hh, b_hh))

    return step


def _lstm_step(gi, state, w_hh, b_hh):
    """Gates in PyTorch's order: input, forget, cell, output."""
    h, c = state
    i, f, g, o = (gi + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
    return F.sigmoid(o) * F.tanh(c), c


def _gru_step(gi, h, w_hh, b_hh):
    """Gates in PyTorch's order: reset, update, new; the reset gate scales W_hn h + b_hn."""
    ir, iz, in_ = gi.chunk(3, -1)
    hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r = F.sigmoid(ir + hr)
    z = F.sigmoid(iz + hz)
    n = F.tanh(in_ + r * hn)
    return (1 - z) * n + z * h


_STEPS = {"RNN_TANH": _rnn_step(F.tanh), "RNN_RELU": _rnn_step(F.relu), "LSTM": _lstm_step, "GRU": _gru_step}


def _init_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's recurrent init: every weight and bias uniform in +-1/sqrt(hidden_size)."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


class RNNBase(Module):
    """The shared multi-layer recurrent loop; `mode` is "RNN_TANH", "RNN_RELU", "LSTM" or "GRU"."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout should be a number in range [0, 1], got {dropout}")
        if num_layers < 1 or hidden_size < 1:
            raise ValueError(f"num_layers ({num_layers}) and hidden_size ({hidden_size}) must be positive")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        # Constant tuples, so that script unrolls the loops over layers and directions, and the
        # (weight_ih, bias_ih, weight_hh, bias_hh) names of each layer-direction, read by a
        # constant index in forward; an absent bias reads as None.
        self._layer_ids, self._direction_ids = tuple(range(num_layers)), (0, 1)[:directions]
        self._flat_weights_names = tuple(f"{name}_l{layer}{suffix}" for layer in range(num_layers)
                                         for suffix in ("", "_reverse")[:directions]
                                         for name in ("weight_ih", "bias_ih", "weight_hh", "bias_hh"))
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                for name, shape in shapes.items():
                    setattr(self, f"{name}_l{layer}{suffix}",
                            Parameter(creation.empty(*shape, device=device, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias uniform in +-1/sqrt(hidden_size)."""
        _init_uniform(self, self.hidden_size)

    def _weight(self, index: int, k: int):
        """Weight `k` (0 weight_ih, 1 bias_ih, 2 weight_hh, 3 bias_hh) of layer-direction `index`."""
        return getattr(self, self._flat_weights_names[4 * index + k], None)

    def _initial_state(self, input, hx, batch: int):
        directions = 2 if self.bidirectional else 1
        shape = (self.num_layers * directions, batch, self.hidden_size)
        if hx is None:
            zeros = creation.zeros(shape, dtype=input.dtype, device=input.device.type)
            return (zeros, zeros) if self.mode == "LSTM" else zeros
        for h in (hx if self.mode == "LSTM" else (hx,)):
            # dim by dim (not tuple(h.shape)) so that script folds the check for known shapes
            if h.ndim != 3 or h.shape[0] != shape[0] or h.shape[1] != shape[1] or h.shape[2] != shape[2]:
                raise OpError(type(self).__name__, f"expected hidden size {shape}, got {tuple(h.shape)}")
        return hx

    def _unsqueeze_state(self, hx):
        """An unbatched initial state (layers, hidden) as a batch of one (layers, 1, hidden)."""
        if self.mode == "LSTM":
            return hx[0].unsqueeze(1), hx[1].unsqueeze(1)
        return hx.unsqueeze(1)

    def forward(self, input, hx=None):
        batched = input.ndim == 3
        if input.ndim not in (2, 3):
            raise OpError(type(self).__name__, f"expected input to be 2D or 3D, got {input.ndim}D "
                          f"of shape {tuple(input.shape)}")
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                hx = self._unsqueeze_state(hx)
        elif self.batch_first:
            input = input.transpose(0, 1)
        hx = self._initial_state(input, hx, input.shape[1])
        output, h_n, c_n = self._run_layers(input, hx)
        hidden = (h_n, c_n) if self.mode == "LSTM" else h_n
        if not batched:
            output = output.squeeze(1)
            hidden = (h_n.squeeze(1), c_n.squeeze(1)) if self.mode == "LSTM" else h_n.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, hidden

    def _run_layers(self, input, hx):
        """Every layer and direction (the layers and directions are known when scripting, so
        script unrolls these loops too); returns the last layer's outputs, the final h of each
        layer-direction stacked, and the final c stacked likewise (LSTM; else None)."""
        directions = 2 if self.bidirectional else 1
        h_finals, c_finals, layer_input = [], [], input
        for layer in self._layer_ids:
            outputs = []
            for direction in self._direction_ids:
                index = layer * directions + direction
                state = (hx[0][index], hx[1][index]) if self.mode == "LSTM" else hx[index]
                out, state = self._run_direction(index, direction == 1, layer_input, state)
                outputs.append(out)
                h_finals.append(state[0] if self.mode == "LSTM" else state)
                if self.mode == "LSTM":
                    c_finals.append(state[1])
            layer_input = outputs[0] if directions == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, stack(h_finals, 0), stack(c_finals, 0) if self.mode == "LSTM" else None

    def _run_direction(self, index: int, reverse: bool, layer_input, state):
        """One layer-direction over the sequence: (its outputs in time order, its final state).
        LSTM and GRU run as one fused op each (one node in an exported graph); the Elman RNN
        projects the whole input with one matmul and unrolls the recurrent step over time."""
        if reverse:  # the reverse direction reads the sequence back to front
            layer_input = layer_input.flip(0)
        if self.mode == "LSTM":
            out, h, c = lstm(layer_input, state[0], state[1], self._weight(index, 0), self._weight(index, 2),
                             self._weight(index, 1), self._weight(index, 3))
            state = (h, c)
        elif self.mode == "GRU":
            out, state = gru(layer_input, state, self._weight(index, 0), self._weight(index, 2),
                             self._weight(index, 1), self._weight(index, 3))
        else:
            step = _STEPS[self.mode]
            projected = F.linear(layer_input, self._weight(index, 0), self._weight(index, 1))
            hs = []
            for x_t in projected.unbind(0):
                state = step(x_t, state, self._weight(index, 2), self._weight(index, 3))
                hs.append(state)
            out = stack(hs, 0)
        return (out.flip(0) if reverse else out), state

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory; forward returns (output, (h_n, c_n))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit; forward returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)


class _CellBase(Module):
    """One time step: parameters weight_ih, weight_hh, bias_ih, bias_hh as in PyTorch."""

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gate_size = _GATES[self.mode] * hidden_size
        self.weight_ih = Parameter(creation.empty(gate_size, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(creation.empty(gate_size, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty(gate_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(creation.empty(gate_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        _init_uniform(self, hidden_size)

    def forward(self, input, hx=None):
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
            if hx is not None:
                hx = tuple(h.unsqueeze(0) for h in hx) if self.mode == "LSTM" else hx.unsqueeze(0)
        if hx is None:
            zeros = creation.zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device.type)
            hx = (zeros, zeros) if self.mode == "LSTM" else zeros
        gi = F.linear(input, self.weight_ih, self.bias_ih)
        out = _STEPS[self.mode](gi, hx, self.weight_hh, self.bias_hh)
        if not batched:
            out = tuple(h.squeeze(0) for h in out) if self.mode == "LSTM" else out.squeeze(0)
        return out

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity=relu"
        return text


class RNNCell(_CellBase):
    """One Elman RNN step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, device, dtype)


class LSTMCell(_CellBase):
    """One LSTM step; returns (h', c')."""

    mode = "LSTM"


class GRUCell(_CellBase):
    """One GRU step; returns h'."""

    mode = "GRU"
