"""The library recurrent layers script (with example inputs, a dynamic batch): every layer kind,
stacked and bidirectional, without biases, unbatched; and `getattr(module, name)` in script."""
from __future__ import annotations

import numpy as np
import pytest

import eager
import jitscript
from eager import nn


class Wrap(nn.Module):
    """Returns the recurrent layer's output and final hidden state(s)."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        out, hidden = self.rnn(x)
        return out, hidden


def _check(rnn: nn.Module, shape: tuple, batches: tuple, dynamic_batch: bool = True) -> None:
    eager.manual_seed(0)
    model = Wrap(rnn).eval()
    scripted = jitscript.script(model, example_inputs=(eager.randn(*shape),), dynamic_batch=dynamic_batch)
    for batch in batches:
        x = eager.randn(batch, *shape[1:]) if dynamic_batch else eager.randn(*shape)
        want, got = model(x), scripted(x)
        flat_want = [want[0], *(want[1] if isinstance(want[1], tuple) else (want[1],))]
        flat_got = [got[0], *(got[1] if isinstance(got[1], tuple) else (got[1],))]
        assert len(flat_got) == len(flat_want)
        for g, w in zip(flat_got, flat_want):
            np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: nn.LSTM(4, 5, batch_first=True),
    lambda: nn.GRU(4, 5, batch_first=True),
    lambda: nn.RNN(4, 5, nonlinearity="relu", batch_first=True),
    lambda: nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True),
    lambda: nn.GRU(4, 5, num_layers=2, bias=False, bidirectional=True, batch_first=True),
], ids=["lstm", "gru", "rnn_relu", "lstm_2layer_bidirectional", "gru_2layer_bidirectional_nobias"])
def test_recurrent_layer_scripts_like_eager(make):
    eager.manual_seed(1)
    _check(make(), (3, 4, 4), batches=(2, 5))


def test_sequence_first_lstm_scripts_like_eager():
    eager.manual_seed(1)
    _check(nn.LSTM(4, 5), (4, 3, 4), batches=(1,), dynamic_batch=False)


def test_unbatched_gru_scripts_like_eager():
    eager.manual_seed(1)
    _check(nn.GRU(4, 5), (6, 4), batches=(1,), dynamic_batch=False)


class Named(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.names = ("fc", "missing")

    def forward(self, x):
        fc = getattr(self, self.names[0])
        extra = getattr(self, self.names[1], None)
        if extra is None:
            return fc(x)
        return fc(x) + 1


def test_getattr_with_a_constant_name_reads_the_attribute_or_the_default():
    eager.manual_seed(0)
    model = Named().eval()
    x = eager.randn(2, 3)
    scripted = jitscript.script(model, example_inputs=(x,))
    np.testing.assert_allclose(scripted(x).detach().numpy(), model(x).detach().numpy(), rtol=1e-6)


class DynamicName(nn.Module):
    def forward(self, x, name: str):
        return getattr(self, name)


def test_getattr_with_a_run_time_name_is_rejected():
    with pytest.raises(jitscript.ScriptError, match="getattr"):
        jitscript.script(DynamicName())


class WithState(nn.Module):
    """An LSTM run from a given initial state (h0, c0)."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 5, num_layers=2)

    def forward(self, x, h0, c0):
        out, (h, c) = self.lstm(x, (h0, c0))
        return out + h[-1] + c[-1]


def test_lstm_with_an_initial_state_of_known_shape_scripts_like_eager():
    eager.manual_seed(0)
    model = WithState().eval()
    inputs = (eager.randn(3, 2, 4), eager.randn(2, 2, 5), eager.randn(2, 2, 5))
    scripted = jitscript.script(model, example_inputs=inputs)
    fresh = (eager.randn(3, 2, 4), eager.randn(2, 2, 5), eager.randn(2, 2, 5))
    np.testing.assert_allclose(scripted(*fresh).detach().numpy(), model(*fresh).detach().numpy(), rtol=1e-5, atol=1e-6)
