"""Recurrent models: nn.LSTM over a sequence, and a GRU cell stepped by a Python loop."""
import eager
from eager import nn

from . import ZooEntry


class LSTMClassifier(nn.Module):
    """nn.LSTM (batch_first) -> last step's output -> Linear."""

    def __init__(self, features: int = 6, hidden: int = 8, classes: int = 3) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(out[:, -1])


class GRULoop(nn.Module):
    """h_t = GRUCell(x_t, h_{t-1}) for t over the sequence, from h_0 = 0; returns Linear(h_T)."""

    def __init__(self, features: int = 6, hidden: int = 8, classes: int = 3) -> None:
        super().__init__()
        self.cell = nn.GRUCell(features, hidden)
        self.head = nn.Linear(hidden, classes)
        self.hidden = hidden

    def forward(self, x):
        h = eager.zeros(x.shape[0], self.hidden)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return self.head(h)


def build_lstm() -> LSTMClassifier:
    eager.manual_seed(0)
    return LSTMClassifier().eval()


def build_gru_loop() -> GRULoop:
    eager.manual_seed(0)
    return GRULoop().eval()


def _sequence(batch: int):
    return (eager.randn(batch, 5, 6),)


LSTM_ENTRY = ZooEntry("lstm", build_lstm, _sequence, traceable=True, scriptable=True)
GRU_LOOP_ENTRY = ZooEntry("gru_loop", build_gru_loop, _sequence, traceable=True, scriptable=True)
