"""`eager.nn.functional`: the functional form of layers and losses (PyTorch's F)."""
from __future__ import annotations

from ..ops.conv import conv1d, conv2d, conv_transpose2d
from ..ops.elementwise import gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh
from ..ops.linalg import linear
from ..ops.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from ..ops.nn import (
    cosine_similarity,
    dropout,
    embedding,
    log_softmax,
    normalize,
    one_hot,
    scaled_dot_product_attention,
    softmax,
)
from ..ops.normalization import batch_norm, group_norm, layer_norm
from ..ops.pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

__all__ = ["gelu", "leaky_relu", "linear", "relu", "sigmoid", "silu", "softplus", "tanh"]
__all__ += ["adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
            "binary_cross_entropy_with_logits", "conv1d", "conv2d", "conv_transpose2d", "cross_entropy", "dropout",
            "embedding", "group_norm", "huber_loss", "l1_loss", "layer_norm", "log_softmax", "max_pool2d",
            "mse_loss", "nll_loss", "one_hot", "scaled_dot_product_attention", "smooth_l1_loss", "softmax"]
__all__ += ["adaptive_avg_pool1d", "avg_pool1d", "cosine_similarity", "kl_div", "max_pool1d", "normalize"]

# ---- from the tensor ops (eager/ops/indexing.py) ----------------------------------------------------
from ..ops.indexing import pad  # noqa: E402

__all__ += ["pad"]
