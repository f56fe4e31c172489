"""A multi-layer perceptron."""
import eager
from eager import nn

from . import ZooEntry


class MLP(nn.Module):
    """Linear -> ReLU -> Linear -> GELU -> Linear."""

    def __init__(self, features: int = 12, hidden: int = 32, classes: int = 5) -> None:
        super().__init__()
        self.fc1 = nn.Linear(features, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, classes)

    def forward(self, x):
        h = eager.relu(self.fc1(x))
        h = eager.gelu(self.fc2(h))
        return self.fc3(h)


def build() -> MLP:
    eager.manual_seed(0)
    return MLP().eval()


ENTRY = ZooEntry("mlp", build, lambda batch: (eager.randn(batch, 12),), traceable=True, scriptable=True)
