"""A model whose branch depends on the data: tracing freezes the branch (and warns), scripting keeps it."""
import eager
from eager import nn

from . import ZooEntry


class Gate(nn.Module):
    """Route the batch through `pos` when its mean is positive, else through `neg`."""

    def __init__(self, features: int = 8) -> None:
        super().__init__()
        self.pos = nn.Linear(features, features)
        self.neg = nn.Linear(features, features)

    def forward(self, x):
        if x.mean() > 0:
            y = eager.relu(self.pos(x))
        else:
            y = eager.tanh(self.neg(x)) * 2.0
        return y


def build() -> Gate:
    eager.manual_seed(0)
    return Gate().eval()


def positive_inputs(batch: int):
    """Inputs that take the `pos` branch (what a trace records)."""
    return (eager.rand(batch, 8) + 0.1,)


def negative_inputs(batch: int):
    """Inputs that take the `neg` branch (where a trace made on positive inputs is wrong)."""
    return (-eager.rand(batch, 8) - 0.1,)


ENTRY = ZooEntry("if_model", build, positive_inputs, traceable=False, scriptable=True)
