"""RNN, LSTM, GRU and their cells vs PyTorch: names, outputs, final states, all gradients."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager import nn

from .torch_compare import compare_with_torch

torch = pytest.importorskip("torch")

CONFIGS = [
    ("RNN", dict()),
    ("RNN", dict(nonlinearity="relu", num_layers=2, bias=False)),
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("GRU", dict(num_layers=2, batch_first=True)),
    ("GRU", dict(bidirectional=True)),
]


def _input(kwargs, rng, batched=True):
    if not batched:
        return rng.standard_normal((5, 3))
    return rng.standard_normal((2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3))


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_recurrent_layer_matches_pytorch(name, kwargs):
    ours, theirs = getattr(nn, name)(3, 4, **kwargs), getattr(torch.nn, name)(3, 4, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    compare_with_torch(ours, theirs, [_input(kwargs, np.random.default_rng(0))])


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_initial_state_gets_gradients(name):
    rng = np.random.default_rng(1)
    directions, layers = 2, 2
    h0 = rng.standard_normal((layers * directions, 2, 4))
    inputs = [_input({}, rng), h0] + ([rng.standard_normal(h0.shape)] if name == "LSTM" else [])

    def call(module, x, h, *c):
        return module(x, (h, c[0]) if c else h)

    compare_with_torch(getattr(nn, name)(3, 4, num_layers=layers, bidirectional=True),
                       getattr(torch.nn, name)(3, 4, num_layers=layers, bidirectional=True), inputs,
                       grad_inputs=tuple(range(len(inputs))), call=call)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(name):
    compare_with_torch(getattr(nn, name)(3, 4), getattr(torch.nn, name)(3, 4),
                       [_input({}, np.random.default_rng(2), batched=False)])


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_pytorch(name, batched):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3) if batched else (3,))
    h = rng.standard_normal((2, 4) if batched else (4,))
    ours, theirs = getattr(nn, name)(3, 4), getattr(torch.nn, name)(3, 4)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if name == "LSTMCell":
        compare_with_torch(ours, theirs, [x, h, h * 0.5], grad_inputs=(0, 1, 2),
                           call=lambda m, x, h, c: m(x, (h, c)))
    else:
        compare_with_torch(ours, theirs, [x, h], grad_inputs=(0, 1))


def test_wrong_hidden_shape_is_reported():
    with pytest.raises(ValueError, match=r"LSTM: expected hidden size \(1, 2, 4\), got \(1, 3, 4\)"):
        nn.LSTM(3, 4)(eager.zeros(5, 2, 3), (eager.zeros(1, 3, 4), eager.zeros(1, 3, 4)))


def test_default_init_is_uniform_in_one_over_sqrt_hidden():
    lstm = nn.LSTM(3, 16)
    assert max(np.abs(p.detach().numpy()).max() for p in lstm.parameters()) <= 0.25
