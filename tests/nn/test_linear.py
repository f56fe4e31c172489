"""Linear, Identity, Flatten, activations: outputs and gradients vs PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager import nn

from .torch_compare import compare_with_torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4)])
def test_linear_matches_pytorch(bias, shape):
    compare_with_torch(nn.Linear(4, 3, bias=bias), torch.nn.Linear(4, 3, bias=bias),
                       [np.random.default_rng(0).standard_normal(shape)])


def test_linear_rejects_wrong_feature_count():
    with pytest.raises(ValueError, match="linear"):
        nn.Linear(4, 3)(eager.zeros(2, 5))


@pytest.mark.parametrize("ours,theirs", [
    (lambda: nn.Identity(), lambda: torch.nn.Identity()),
    (lambda: nn.Flatten(), lambda: torch.nn.Flatten()),
    (lambda: nn.Flatten(0, 1), lambda: torch.nn.Flatten(0, 1)),
    (lambda: nn.Unflatten(1, (2, 3)), lambda: torch.nn.Unflatten(1, (2, 3))),
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Softplus(2.0, 5.0), lambda: torch.nn.Softplus(2.0, 5.0)),
], ids=["identity", "flatten", "flatten01", "unflatten", "relu", "leaky", "gelu", "gelu_tanh", "silu", "tanh",
        "sigmoid", "softplus"])
def test_parameter_free_layers_match_pytorch(ours, theirs):
    x = np.random.default_rng(0).standard_normal((4, 6, 2)) + 0.05
    compare_with_torch(ours(), theirs(), [x], rtol=1e-6, atol=1e-7)


def test_activation_reprs_match_pytorch():
    for ours, theirs in [(nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)), (nn.GELU(), torch.nn.GELU()),
                         (nn.Flatten(), torch.nn.Flatten()), (nn.Linear(2, 3), torch.nn.Linear(2, 3))]:
        assert repr(ours) == repr(theirs)
