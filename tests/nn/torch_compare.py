"""Checking a layer against PyTorch: same weights copied in, same input, same upstream grad;
compare the output, the input gradient and every parameter gradient (float64)."""
from __future__ import annotations

import numpy as np

import eager


def load_torch_weights(ours, theirs) -> None:
    """Copy a torch module's state dict into ours (names must map 1:1)."""
    ours.load_state_dict({k: eager.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def compare_with_torch(ours, theirs, inputs: list, rtol: float = 1e-6, atol: float = 1e-8,
                       grad_inputs: tuple = (0,), train: bool = True, call=None) -> None:
    """Run both modules on `inputs` (NumPy arrays), compare outputs and all gradients."""
    import torch

    ours.double()
    theirs.double()
    load_torch_weights(ours, theirs)
    ours.train(train)
    theirs.train(train)
    call = call or (lambda m, *xs: m(*xs))
    e_in = [eager.tensor(a, dtype=eager.float64 if a.dtype.kind == "f" else None) for a in inputs]
    t_in = [torch.tensor(a) for a in inputs]
    for i in grad_inputs:
        e_in[i].requires_grad_(True)
        t_in[i].requires_grad_(True)
    e_out = _as_tuple(call(ours, *e_in))
    t_out = _as_tuple(call(theirs, *t_in))
    rng = np.random.default_rng(1)
    e_loss, t_loss = 0, 0
    for e, t in zip(_flatten(e_out), _flatten(t_out)):
        if t is None:
            assert e is None
            continue
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
        if t.requires_grad:
            g = rng.standard_normal(tuple(t.shape))
            e_loss = e_loss + (e * eager.tensor(g, dtype=eager.float64)).sum()
            t_loss = t_loss + (t * torch.tensor(g)).sum()
    e_loss.backward()
    t_loss.backward()
    for i in grad_inputs:
        np.testing.assert_allclose(e_in[i].grad.numpy(), t_in[i].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"input {i} gradient")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        tp = theirs_params[name]
        if tp.grad is None:
            assert p.grad is None, name
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)
    for (name, b), (_, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
        np.testing.assert_allclose(b.numpy(), tb.numpy(), rtol=rtol, atol=atol, err_msg=name)


def _flatten(outs):
    for o in outs:
        if isinstance(o, tuple):
            yield from _flatten(o)
        else:
            yield o
