"""BatchNorm (running statistics, momentum, eval), LayerNorm, GroupNorm vs PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager import nn

from .torch_compare import compare_with_torch, load_torch_weights

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name,kwargs,shape", [
    ("BatchNorm1d", {}, (6, 4)),
    ("BatchNorm1d", dict(momentum=None), (5, 4, 3)),
    ("BatchNorm2d", {}, (3, 4, 5, 2)),
    ("BatchNorm2d", dict(affine=False, momentum=0.3), (3, 4, 2, 2)),
    ("BatchNorm2d", dict(track_running_stats=False), (3, 4, 2, 2)),
])
@pytest.mark.parametrize("train", [True, False])
def test_batch_norm_matches_pytorch_and_updates_running_stats(name, kwargs, shape, train):
    ours, theirs = getattr(nn, name)(4, **kwargs), getattr(torch.nn, name)(4, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    rng = np.random.default_rng(0)
    if kwargs.get("track_running_stats", True):  # non-trivial statistics to start from
        theirs.running_mean.copy_(torch.tensor(rng.standard_normal(4)))
        theirs.running_var.copy_(torch.tensor(rng.uniform(0.5, 2, 4)))
    compare_with_torch(ours, theirs, [rng.standard_normal(shape) * 2 + 1], train=train)


def test_batch_norm_running_stats_over_several_batches_then_eval():
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal((4, 3, 2, 2)) * 3 + 2
        ours(eager.tensor(x, dtype=eager.float32))
        theirs(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5)
    assert int(ours.num_batches_tracked) == 4
    x = rng.standard_normal((2, 3, 2, 2))
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(eager.tensor(x, dtype=eager.float32)).detach().numpy(),
                               theirs(torch.tensor(x, dtype=torch.float32)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_rejects_the_wrong_rank():
    with pytest.raises(ValueError, match="BatchNorm2d: expected 4D input \\(got 3D input"):
        nn.BatchNorm2d(3)(eager.zeros(2, 3, 4))


def test_batch_norm_state_dict_round_trip_includes_running_stats():
    theirs = torch.nn.BatchNorm1d(3)
    theirs(torch.randn(8, 3) * 4)
    ours = nn.BatchNorm1d(3)
    load_torch_weights(ours, theirs)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy())
    assert int(ours.num_batches_tracked) == 1


@pytest.mark.parametrize("ours,theirs,shape", [
    (lambda: nn.LayerNorm(5), lambda: torch.nn.LayerNorm(5), (3, 4, 5)),
    (lambda: nn.LayerNorm((4, 5), eps=1e-3), lambda: torch.nn.LayerNorm((4, 5), eps=1e-3), (3, 4, 5)),
    (lambda: nn.LayerNorm(5, elementwise_affine=False), lambda: torch.nn.LayerNorm(5, elementwise_affine=False),
     (2, 5)),
    (lambda: nn.LayerNorm(5, bias=False), lambda: torch.nn.LayerNorm(5, bias=False), (2, 5)),
    (lambda: nn.GroupNorm(2, 4), lambda: torch.nn.GroupNorm(2, 4), (3, 4, 5, 2)),
    (lambda: nn.GroupNorm(4, 4, affine=False), lambda: torch.nn.GroupNorm(4, 4, affine=False), (3, 4, 6)),
], ids=["ln", "ln2d", "ln_noaffine", "ln_nobias", "gn", "gn_noaffine"])
def test_layer_and_group_norm_match_pytorch(ours, theirs, shape):
    ours, theirs = ours(), theirs()
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.randn(p.shape) * 0.3)
    compare_with_torch(ours, theirs, [np.random.default_rng(0).standard_normal(shape) * 2 + 1])
    assert repr(ours) == repr(theirs)
