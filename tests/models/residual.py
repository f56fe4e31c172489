"""A ResNet basic block (two 3x3 conv + BN, identity shortcut) with a stem and a head."""
import eager
from eager import nn

from . import ZooEntry
from .common import randomize_batchnorm


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = eager.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return eager.relu(out + x)


class ResidualNet(nn.Module):
    """Conv stem -> BasicBlock -> average pool -> Linear."""

    def __init__(self, channels: int = 8, classes: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.block = BasicBlock(channels)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(channels * 4 * 4, classes)

    def forward(self, x):
        x = self.pool(self.block(eager.relu(self.stem(x))))
        return self.fc(x.flatten(1))


def build() -> ResidualNet:
    eager.manual_seed(0)
    return randomize_batchnorm(ResidualNet()).eval()


ENTRY = ZooEntry("residual", build, lambda batch: (eager.randn(batch, 3, 8, 8),), traceable=True, scriptable=True,
                 needs_ops=("conv2d", "batch_norm", "avg_pool2d"), atol=1e-4, rtol=1e-4)
