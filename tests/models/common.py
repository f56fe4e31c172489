"""Helpers shared by zoo models."""
import eager
from eager import nn


def randomize_batchnorm(model: nn.Module) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters (as after
    training), so eval-mode normalization and BN folding are really exercised."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.data = (eager.randn(c) * 0.5).data
            m.running_var.data = (eager.rand(c) + 0.5).data
            m.weight.data = (eager.rand(c) + 0.5).data
            m.bias.data = (eager.randn(c) * 0.1).data
    return model
