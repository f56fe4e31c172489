"""A small CNN: convolutions with BatchNorm (eval statistics), ReLU and pooling, then a classifier."""
import eager
from eager import nn

from . import ZooEntry
from .common import randomize_batchnorm


class CNN(nn.Module):
    """[Conv-BN-ReLU-MaxPool] x 2 -> global average pool -> Linear."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.pool(eager.relu(self.bn1(self.conv1(x))))
        x = self.pool(eager.relu(self.bn2(self.conv2(x))))
        x = self.gap(x)
        return self.fc(x.reshape(x.shape[0], -1))


def build() -> CNN:
    eager.manual_seed(0)
    return randomize_batchnorm(CNN()).eval()


ENTRY = ZooEntry("cnn", build, lambda batch: (eager.randn(batch, 3, 16, 16),), traceable=True, scriptable=True,
                 needs_ops=("conv2d", "batch_norm", "max_pool2d"), atol=1e-4, rtol=1e-4)
