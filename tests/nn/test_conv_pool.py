"""Convolution and pooling layers: outputs and gradients vs PyTorch, default init, repr."""
from __future__ import annotations

import math

import numpy as np
import pytest

from eager import nn

from .torch_compare import compare_with_torch

torch = pytest.importorskip("torch")

CONVS = [
    ("Conv2d", (3, 4, 3), {}, (2, 3, 7, 6)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding=1, dilation=(1, 2), groups=2), (2, 4, 9, 8)),
    ("Conv2d", (3, 2, 3), dict(padding="same", bias=False), (1, 3, 5, 5)),
    ("Conv1d", (3, 5, 3), dict(stride=2, padding=2), (2, 3, 11)),
    ("Conv1d", (4, 4, 2), dict(groups=4, dilation=2), (2, 4, 9)),
    ("ConvTranspose2d", (3, 4, 3), dict(stride=2, padding=1, output_padding=1), (2, 3, 5, 4)),
    ("ConvTranspose2d", (4, 2, (2, 3)), dict(groups=2, bias=False), (1, 4, 3, 3)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", CONVS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONVS)])
def test_convolution_matches_pytorch(name, args, kwargs, shape):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.weight.shape == tuple(theirs.weight.shape)
    compare_with_torch(ours, theirs, [np.random.default_rng(0).standard_normal(shape)])


def test_conv_default_init_bounds():
    conv = nn.Conv2d(4, 8, 3)
    bound = 1 / math.sqrt(4 * 9)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound


def test_conv_rejects_bad_groups_and_padding_modes():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode 'reflect' is not supported"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")


POOLS = [
    ("MaxPool2d", (2,), {}, (2, 3, 6, 5)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1), (2, 2, 7, 7)),
    ("MaxPool2d", ((2, 3),), dict(stride=(1, 2), ceil_mode=True), (1, 2, 5, 8)),
    ("AvgPool2d", (2,), {}, (2, 3, 6, 5)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 2, 7, 7)),
    ("AdaptiveAvgPool2d", ((1, 1),), {}, (2, 3, 5, 4)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", POOLS, ids=[f"{c[0]}-{i}" for i, c in enumerate(POOLS)])
def test_pooling_matches_pytorch(name, args, kwargs, shape):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    compare_with_torch(ours, theirs, [np.random.default_rng(0).standard_normal(shape)])
    assert repr(ours) == repr(theirs)
