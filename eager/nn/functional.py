"""`eager.nn.functional`: the functional form of layers and losses (PyTorch's F)."""
from __future__ import annotations

from ..ops.conv import conv1d, conv2d, conv_transpose2d
from ..ops.elementwise import gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh
from ..ops.linalg import linear

__all__ = ["gelu", "leaky_relu", "linear", "relu", "sigmoid", "silu", "softplus", "tanh"]
__all__ += ["conv1d", "conv2d", "conv_transpose2d"]
