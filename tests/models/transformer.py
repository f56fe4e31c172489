"""A transformer encoder layer (self-attention, layer norm, GELU feed-forward) with a pooled head."""
import eager
from eager import nn

from . import ZooEntry


class Encoder(nn.Module):
    """nn.TransformerEncoderLayer over (N, L, E), mean over the sequence, Linear."""

    def __init__(self, d_model: int = 16, heads: int = 2, classes: int = 3) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=32, dropout=0.0,
                                                activation="gelu", batch_first=True)
        self.head = nn.Linear(d_model, classes)

    def forward(self, x):
        return self.head(self.layer(x).mean(1))


def build() -> Encoder:
    eager.manual_seed(0)
    return Encoder().eval()


ENTRY = ZooEntry("transformer", build, lambda batch: (eager.randn(batch, 6, 16),), traceable=True,
                 scriptable=True, needs_ops=("softmax", "layer_norm"), atol=1e-4, rtol=1e-4)
