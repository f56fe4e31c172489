"""A model with a loop: a residual tanh refinement applied a fixed number of times."""
import eager
from eager import nn

from . import ZooEntry


class Refine(nn.Module):
    """x <- x + tanh(fc(x)), `steps` times, then a Linear head."""

    def __init__(self, features: int = 8, steps: int = 3) -> None:
        super().__init__()
        self.fc = nn.Linear(features, features)
        self.head = nn.Linear(features, 2)
        self.steps = steps

    def forward(self, x):
        for _ in range(self.steps):
            x = x + eager.tanh(self.fc(x))
        return self.head(x)


def build() -> Refine:
    eager.manual_seed(0)
    return Refine().eval()


ENTRY = ZooEntry("loop_model", build, lambda batch: (eager.randn(batch, 8),), traceable=True, scriptable=True)
