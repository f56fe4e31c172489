"""Dropout, Embedding, Softmax/LogSoftmax and the losses, vs PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager import nn

from .torch_compare import compare_with_torch

torch = pytest.importorskip("torch")


def test_dropout_scales_survivors_and_is_identity_in_eval():
    eager.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = eager.ones(1000, 10)
    y = drop(x).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)} and abs((y == 0).mean() - 0.25) < 0.02
    drop.eval()
    assert np.array_equal(drop(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_gradient_flows_through_kept_elements_only():
    eager.manual_seed(1)
    x = eager.ones(50, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_matches_pytorch(padding_idx):
    ours, theirs = nn.Embedding(6, 3, padding_idx=padding_idx), torch.nn.Embedding(6, 3, padding_idx=padding_idx)
    assert repr(ours) == repr(theirs)
    if padding_idx is not None:
        assert not ours.weight.detach().numpy()[padding_idx].any()
    idx = np.array([[0, 1, 5], [1, 1, 2]])
    compare_with_torch(ours, theirs, [idx], grad_inputs=())


def test_embedding_from_pretrained_is_frozen():
    emb = nn.Embedding.from_pretrained(eager.eye(3))
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(eager.tensor([2, 0])).numpy(), [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize("name,dim", [("Softmax", 1), ("Softmax", -1), ("LogSoftmax", 1), ("LogSoftmax", 0)])
def test_softmax_layers_match_pytorch(name, dim):
    compare_with_torch(getattr(nn, name)(dim), getattr(torch.nn, name)(dim),
                       [np.random.default_rng(0).standard_normal((3, 4, 2))])


def _class_targets(shape, classes, rng):
    return rng.integers(0, classes, shape)


LOSSES = [
    ("CrossEntropyLoss", {}, lambda r: [r.standard_normal((5, 4)), r.integers(0, 4, 5)]),
    ("CrossEntropyLoss", dict(reduction="sum", label_smoothing=0.1), lambda r: [r.standard_normal((5, 4)),
                                                                                 r.integers(0, 4, 5)]),
    ("CrossEntropyLoss", dict(ignore_index=2, reduction="none"), lambda r: [r.standard_normal((5, 4, 3)),
                                                                             r.integers(0, 4, (5, 3))]),
    ("CrossEntropyLoss", dict(weight="w4"), lambda r: [r.standard_normal((6, 4)), r.integers(0, 4, 6)]),
    ("NLLLoss", {}, lambda r: [r.standard_normal((5, 4)), r.integers(0, 4, 5)]),
    ("NLLLoss", dict(weight="w4", ignore_index=0, reduction="mean"),
     lambda r: [r.standard_normal((7, 4)), r.integers(0, 4, 7)]),
    ("MSELoss", {}, lambda r: [r.standard_normal((3, 4)), r.standard_normal((3, 4))]),
    ("MSELoss", dict(reduction="none"), lambda r: [r.standard_normal((3, 4)), r.standard_normal((3, 4))]),
    ("L1Loss", dict(reduction="sum"), lambda r: [r.standard_normal((3, 4)), r.standard_normal((3, 4))]),
    ("SmoothL1Loss", {}, lambda r: [r.standard_normal((3, 4)) * 2, r.standard_normal((3, 4))]),
    ("SmoothL1Loss", dict(beta=0.5, reduction="none"), lambda r: [r.standard_normal((3, 4)) * 2,
                                                                   r.standard_normal((3, 4))]),
    ("HuberLoss", dict(delta=0.7), lambda r: [r.standard_normal((3, 4)) * 2, r.standard_normal((3, 4))]),
    ("BCELoss", dict(weight="w4"), lambda r: [r.uniform(0.05, 0.95, (3, 4)), r.uniform(0, 1, (3, 4))]),
    ("BCEWithLogitsLoss", {}, lambda r: [r.standard_normal((3, 4)), r.uniform(0, 1, (3, 4))]),
    ("BCEWithLogitsLoss", dict(pos_weight="w4", reduction="sum"),
     lambda r: [r.standard_normal((3, 4)), r.integers(0, 2, (3, 4)).astype(float)]),
]


@pytest.mark.parametrize("name,kwargs,make", LOSSES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LOSSES)])
def test_losses_match_pytorch(name, kwargs, make):
    rng = np.random.default_rng(0)
    weight = rng.uniform(0.5, 2.0, 4)
    ours_kwargs = {k: (eager.tensor(weight, dtype=eager.float64) if v == "w4" else v) for k, v in kwargs.items()}
    theirs_kwargs = {k: (torch.tensor(weight) if v == "w4" else v) for k, v in kwargs.items()}
    ours, theirs = getattr(nn, name)(**ours_kwargs), getattr(torch.nn, name)(**theirs_kwargs)
    compare_with_torch(ours, theirs, make(rng))
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_loss_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="'average' is not a valid value for reduction"):
        nn.MSELoss(reduction="average")
