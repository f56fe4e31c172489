"""The digits models, importable on their own (the exporter traces and scripts them).

Inputs are (N, 1, 8, 8) images scaled to [0, 1]; outputs are 10 logits.
"""
from __future__ import annotations

from eager import nn


class DigitsCNN(nn.Module):
    """Two conv-BN-ReLU-pool blocks (8x8 -> 4x4 -> 2x2), then a linear classifier."""

    def __init__(self, channels: int = 16, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.BatchNorm2d(2 * channels), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(2 * channels * 2 * 2, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class DigitsMLP(nn.Module):
    """64 -> 128 -> 64 -> 10 with ReLUs."""

    def __init__(self, hidden: int = 128, num_classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden // 2),
                                 nn.ReLU(), nn.Linear(hidden // 2, num_classes))

    def forward(self, x):
        return self.net(x)


MODELS = {"cnn": DigitsCNN, "mlp": DigitsMLP}


def build_model(name: str = "cnn") -> nn.Module:
    """A fresh model by name: "cnn" or "mlp"."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name]()
