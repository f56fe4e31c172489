"""Optimizers: parameter trajectories vs PyTorch for every option combination, groups, state dicts."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager import nn, optim

torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.1, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
]


def _problem():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 3)).astype(np.float32),
            rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32))


def _run_ours(name, kwargs, steps):
    x, y, w0, b0 = _problem()
    w, b = nn.Parameter(eager.tensor(w0)), nn.Parameter(eager.tensor(b0))
    opt = getattr(optim, name)([w, b], **kwargs)
    xs, ys = eager.tensor(x), eager.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        ((xs @ w + b - ys) ** 2).mean().backward()
        opt.step()
    return w.detach().numpy(), b.detach().numpy(), opt


def _run_torch(name, kwargs, steps):
    x, y, w0, b0 = _problem()
    w, b = torch.nn.Parameter(torch.tensor(w0)), torch.nn.Parameter(torch.tensor(b0))
    opt = getattr(torch.optim, name)([w, b], **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        ((torch.tensor(x) @ w + b - torch.tensor(y)) ** 2).mean().backward()
        opt.step()
    return w.detach().numpy(), b.detach().numpy()


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{'-'.join(k)}" for n, k in CONFIGS])
def test_trajectory_matches_pytorch(name, kwargs):
    for steps in (1, 6):
        w, b, _ = _run_ours(name, kwargs, steps)
        tw, tb = _run_torch(name, kwargs, steps)
        np.testing.assert_allclose(w, tw, rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(b, tb, rtol=2e-5, atol=2e-6)


def test_parameter_groups_use_their_own_hyperparameters():
    a, b = nn.Parameter(eager.ones(2)), nn.Parameter(eager.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [0.9, 0.9])
    np.testing.assert_allclose(b.detach().numpy(), [0.0, 0.0])
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["momentum"] == 0.0


@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.05, amsgrad=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
                                         ("Adagrad", dict(lr=0.1, lr_decay=0.1))])
def test_state_dict_through_a_checkpoint_continues_the_same_trajectory(name, kwargs, tmp_path):
    w3, b3, opt = _run_ours(name, kwargs, 3)
    state = opt.state_dict()
    assert state["param_groups"][0]["params"] == [0, 1]
    eager.save(state, tmp_path / "opt.esc")
    params = [nn.Parameter(eager.tensor(w3)), nn.Parameter(eager.tensor(b3))]
    resumed = getattr(optim, name)(params, lr=0.5)
    resumed.load_state_dict(eager.load(tmp_path / "opt.esc"))
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    x, y, _, _ = _problem()
    ((eager.tensor(x) @ params[0] + params[1] - eager.tensor(y)) ** 2).mean().backward()
    resumed.step()
    w4, b4, _ = _run_ours(name, kwargs, 4)
    np.testing.assert_array_equal(params[0].detach().numpy(), w4)
    np.testing.assert_array_equal(params[1].detach().numpy(), b4)


def test_load_state_dict_rejects_a_different_layout():
    _, _, opt = _run_ours("SGD", dict(lr=0.1, momentum=0.9), 1)
    other = optim.SGD([nn.Parameter(eager.ones(1))], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        other.load_state_dict(opt.state_dict())


def test_bad_arguments_are_rejected():
    p = [nn.Parameter(eager.ones(1))]
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": p}, {"params": p}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p[0] * 2], lr=0.1)


def test_zero_grad_and_closure():
    p = nn.Parameter(eager.ones(2))
    opt = optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 2.0
    np.testing.assert_allclose(p.detach().numpy(), [0.0, 0.0])
    opt.zero_grad(set_to_none=False)
    assert float(p.grad.abs().sum()) == 0
    opt.zero_grad()
    assert p.grad is None


def test_step_skips_parameters_without_gradients():
    a, b = nn.Parameter(eager.ones(1)), nn.Parameter(eager.ones(1))
    opt = optim.Adam([a, b], lr=0.1)
    a.sum().backward()
    opt.step()
    assert float(b) == 1.0 and b not in opt.state and float(a) < 1.0
