"""Schedulers: the lr (and momentum) sequences vs PyTorch's."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager import nn, optim
from eager.optim import lr_scheduler

torch = pytest.importorskip("torch")

SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1 / (1 + epoch))),
    ("LinearLR", dict(start_factor=0.1, total_iters=6)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=4)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=20)),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], total_steps=20, anneal_strategy="linear", three_phase=True)),
    ("OneCycleLR", dict(max_lr=0.3, epochs=4, steps_per_epoch=5, pct_start=0.25, cycle_momentum=False)),
]


def _lrs(module, name, kwargs, optimizer, steps, **opt_kwargs):
    params = [module.nn.Parameter(module.ones(1)), module.nn.Parameter(module.ones(1))]
    opt = getattr(module.optim, optimizer)([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], lr=0.1,
                                           **opt_kwargs)
    sched = getattr(module.optim.lr_scheduler, name)(opt, **kwargs)
    seen = []
    for _ in range(steps):
        seen.append([(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups])
        opt.step()
        sched.step()
    assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return seen


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=[n + "-" + "-".join(k) for n, k in SCHEDULES])
@pytest.mark.parametrize("optimizer,opt_kwargs", [("SGD", dict(momentum=0.9)), ("Adam", {})])
def test_sequence_matches_pytorch(name, kwargs, optimizer, opt_kwargs):
    steps = 20 if name == "OneCycleLR" else 24
    ours = _lrs(eager, name, kwargs, optimizer, steps, **opt_kwargs)
    theirs = _lrs(torch, name, kwargs, optimizer, steps, **opt_kwargs)
    for a, b in zip(ours, theirs):
        for (lr, mom, betas), (tlr, tmom, tbetas) in zip(a, b):
            assert lr == pytest.approx(tlr, rel=1e-9, abs=1e-12)
            assert mom == pytest.approx(tmom) and (betas is None) == (tbetas is None)
            if betas is not None:
                assert tuple(betas) == pytest.approx(tuple(tbetas))


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = optim.SGD([nn.Parameter(eager.ones(1))], lr=0.1, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        sched.step()


def test_one_cycle_needs_momentum_to_cycle_it():
    with pytest.raises(ValueError, match="must support momentum"):
        lr_scheduler.OneCycleLR(optim.Adagrad([nn.Parameter(eager.ones(1))]), max_lr=1.0, total_steps=5)


def test_scheduler_state_dict_resumes_the_sequence():
    opt = optim.SGD([nn.Parameter(eager.ones(1))], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    opt2 = optim.SGD([nn.Parameter(eager.ones(1))], lr=1.0)
    sched2 = lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(state)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() == [0.25]
    assert np.isclose(sched2.last_epoch, 4)


@pytest.mark.parametrize("kwargs", [dict(patience=2), dict(mode="max", factor=0.5, patience=1, cooldown=2),
                                    dict(threshold_mode="abs", threshold=0.1, patience=0, min_lr=[0.02, 0.01])])
def test_reduce_on_plateau_matches_pytorch(kwargs):
    metrics = [5.0, 4.0, 4.0, 3.99, 4.5, 4.1, 3.0, 3.0, 3.0, 3.0, 2.95, 6.0, 6.0, 6.0, 1.0, 1.0, 1.0, 1.0]

    def run(module):
        params = [module.nn.Parameter(module.ones(1)), module.nn.Parameter(module.ones(1))]
        opt = module.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], lr=0.1)
        sched = module.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for m in metrics:
            sched.step(m)
            lrs += [g["lr"] for g in opt.param_groups]
        return lrs

    assert run(eager) == pytest.approx(run(torch))


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=[n + "-" + "-".join(k) for n, k in SCHEDULES])
def test_scheduler_state_survives_a_checkpoint(name, kwargs, tmp_path):
    def make():
        opt = optim.SGD([nn.Parameter(eager.ones(1))], lr=0.1, momentum=0.9)
        return opt, getattr(lr_scheduler, name)(opt, **kwargs)

    opt, sched = make()
    for _ in range(4):
        sched.step()
    eager.save({"sched": sched.state_dict(), "opt": opt.state_dict()}, tmp_path / "s.esc")
    opt2, sched2 = make()
    saved = eager.load(tmp_path / "s.esc")
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    for _ in range(3):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
