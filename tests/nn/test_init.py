"""nn.init: PyTorch's fan rules, gains, bounds and default layer initializations."""
from __future__ import annotations

import math

import numpy as np
import pytest

import eager
from eager import nn
from eager.nn import init


@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3, 3), (6, 2, 7)])
def test_fan_in_and_fan_out_match_pytorch(shape):
    torch = pytest.importorskip("torch")
    ours = init.calculate_fan_in_and_fan_out(eager.zeros(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                        ("selu", None)])
def test_calculate_gain_matches_pytorch(name, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_fan_needs_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.calculate_fan_in_and_fan_out(eager.zeros(3))


def test_uniform_initializers_stay_within_their_bounds():
    w = eager.zeros(200, 50)
    init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = math.sqrt(3) * init.calculate_gain("leaky_relu", math.sqrt(5)) / math.sqrt(50)
    values = w.numpy()
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.95 * bound
    init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 250)
    assert np.abs(w.numpy()).max() <= bound


def test_normal_initializers_have_the_right_spread():
    eager.manual_seed(0)
    w = eager.zeros(400, 300)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2) / math.sqrt(400), rel=0.02)
    init.xavier_normal_(w)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 700), rel=0.02)
    init.trunc_normal_(w, std=1.0, a=-0.5, b=0.5)
    assert np.abs(w.numpy()).max() <= 0.5


def test_constant_fills_keep_the_tensor_object():
    w = nn.Parameter(eager.zeros(2, 3))
    assert init.ones_(w) is w and float(w.sum()) == 6
    init.constant_(w, 0.5)
    assert float(w.sum()) == 3
    init.zeros_(w)
    assert float(w.abs().sum()) == 0
    init.eye_(w)
    np.testing.assert_array_equal(w.detach().numpy(), np.eye(2, 3))


def test_orthogonal_gives_orthonormal_rows():
    w = eager.zeros(3, 5)
    init.orthogonal_(w)
    np.testing.assert_allclose(w.numpy() @ w.numpy().T, np.eye(3), atol=1e-5)


def test_seeded_init_is_reproducible():
    eager.manual_seed(3)
    a = nn.Linear(4, 4).weight.detach().numpy().copy()
    eager.manual_seed(3)
    b = nn.Linear(4, 4).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)


def test_linear_default_init_bounds_match_pytorch():
    lin = nn.Linear(30, 20)
    bound = 1 / math.sqrt(30)
    assert np.abs(lin.weight.detach().numpy()).max() <= bound
    assert np.abs(lin.bias.detach().numpy()).max() <= bound
