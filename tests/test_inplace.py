"""In-place ops: values written into the buffer, version counters, history rebasing, errors."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager.ops import dispatch

from .recording_tracer import RecordingTracer


def _assert_same_as_pytorch(program):
    """Run `program(m)` with m = eager and m = torch; the arrays it returns must agree."""
    torch = pytest.importorskip("torch")
    ours, theirs = program(eager), program(torch)
    ours, theirs = (ours, theirs) if isinstance(ours, tuple) else ((ours,), (theirs,))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b)


def _leaf(values):
    return eager.tensor(values, dtype=eager.float64, requires_grad=True)


def test_add_writes_into_the_same_buffer_and_bumps_the_version():
    x = eager.zeros(3)
    buffer = x.data
    version = x._version[0]
    out = x.add_(eager.ones(3))
    assert out is x and x.data is buffer
    assert x._version[0] == version + 1
    np.testing.assert_array_equal(x.numpy(), [1, 1, 1])


def test_augmented_assignment_keeps_the_object():
    x = eager.ones(2)
    alias = x
    x += 2
    x *= 3
    x -= 1
    x /= 2
    assert alias is x
    np.testing.assert_allclose(x.numpy(), [4.0, 4.0])


def test_in_place_on_a_leaf_that_requires_grad_raises():
    w = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        w.add_(1)


def test_in_place_on_a_leaf_under_no_grad_is_an_optimizer_step():
    w = _leaf([1.0, 2.0])
    (w * w).sum().backward()
    with eager.no_grad():
        w -= 0.5 * w.grad
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])


def test_data_assignment_under_no_grad_keeps_the_leaf():
    w = _leaf([1.0, 2.0])
    with eager.no_grad():
        w.data = w.data * 0.5
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), [0.5, 1.0])


def test_in_place_mul_on_a_non_leaf_gives_pytorchs_gradients():
    def program(m):
        a = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
        b = m.tensor([2.0, 0.5, -1.0], requires_grad=True)
        h = a * 1
        h.mul_(b)
        h.add_(a)
        (h * h).sum().backward()
        return (a.grad.numpy(), b.grad.numpy(), h.detach().numpy())

    _assert_same_as_pytorch(program)


def test_an_output_overwritten_in_place_keeps_its_old_value_for_backward():
    # PyTorch raises here; the in-place op keeps a copy of the old value, so exp's gradient is right
    x = _leaf([0.5, 1.0])
    y = x.exp()
    y.add_(1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, 1.0]))


def test_two_in_place_ops_in_a_row_differentiate_through_both():
    def program(m):
        x = m.tensor([1.0, 3.0], dtype=m.float64, requires_grad=True)
        w = m.tensor([2.0, 4.0], dtype=m.float64, requires_grad=True)
        h = x * 1
        h.div_(w)
        h.add_(1)
        h.sum().backward()
        return (x.grad.numpy(), w.grad.numpy())

    _assert_same_as_pytorch(program)


def test_a_view_taken_before_its_base_changed_follows_the_new_history():
    def program(m):
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64, requires_grad=True)
        y = x * 1
        row = y[0]
        first = row[1:]  # a view of a view
        y.mul_(2)
        (row * first).sum().backward()
        return (row.detach().numpy(), x.grad.numpy())

    _assert_same_as_pytorch(program)


def test_in_place_on_a_view_whose_base_changed_since_it_was_taken():
    def program(m):
        x = m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=m.float64, requires_grad=True)
        w = m.tensor([0.5, -1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = x * 1
        column = y.t()[1]
        y[0] = w * 3
        column.add_(1.5)
        column.mul_(w[:2])
        (y * y).sum().backward()
        return (y.detach().numpy(), x.grad.numpy(), w.grad.numpy())

    _assert_same_as_pytorch(program)


def test_in_place_on_a_stale_view_of_a_plain_tensor_that_took_a_gradient():
    # PyTorch refuses this one (it takes row for a leaf); the gradient here is the exact one
    w = _leaf([1.0, 2.0, 3.0])
    x = eager.zeros(2, 3, dtype=eager.float64)
    row = x[0]
    x.add_(w)  # x = [w, w]
    row.mul_(2.0)  # x = [2w, w]
    (x * x).sum().backward()  # d/dw (4w^2 + w^2) = 10w
    np.testing.assert_allclose(w.grad.numpy(), [10.0, 20.0, 30.0])


def test_a_view_of_a_plain_tensor_requires_grad_after_its_base_took_a_gradient():
    def program(m):
        w = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=True)
        x = m.zeros(2, 3, dtype=m.float64)
        row = x[1]
        x.add_(w)  # row.requires_grad turns True when row is next used (PyTorch: at once)
        (row * row).sum().backward()
        return w.grad.numpy()

    _assert_same_as_pytorch(program)


def test_modifying_an_input_saved_for_backward_raises():
    x = _leaf([0.5, 1.0])
    w = _leaf([2.0, 3.0])
    h = x * 1
    z = h * w
    h.add_(1)
    with pytest.raises(RuntimeError, match="mul: one of the tensors needed for gradient computation"):
        z.sum().backward()


def test_earlier_consumers_send_gradients_to_the_old_value():
    x = _leaf([1.0, 2.0])
    h = x * 1
    z = h + 1  # used h before the in-place op (add does not save h)
    h.mul_(3.0)
    (z.sum() + h.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0])


def test_a_reshaped_view_sees_and_differentiates_a_later_write_to_its_base():
    x = _leaf([1.0, 2.0])
    h = x * 1
    z = h.reshape(2, 1)
    h.mul_(3)
    (z.sum() + h.sum()).backward()
    np.testing.assert_allclose(z.detach().numpy(), [[3.0], [6.0]])
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])  # as PyTorch


def test_in_place_on_a_view_rebases_its_base():
    def program(m):
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64, requires_grad=True)
        y = x * 1
        y[0].mul_(x[1])
        y.t()[1].add_(5.0)
        (y * y).sum().backward()
        return (y.detach().numpy(), x.grad.numpy())

    _assert_same_as_pytorch(program)


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_raises():
    x = _leaf([[1.0, 2.0]])
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        x[0].add_(1)


def test_in_place_on_an_expanded_view_that_records_gradients_raises():
    y = _leaf([1.0, 2.0]) * 1
    with pytest.raises(RuntimeError, match="expand: an in-place operation on this view is not supported"):
        y.expand(3, 2).add_(1)


def test_in_place_through_a_plain_view_gives_the_base_a_history():
    x = eager.zeros(2, 3, dtype=eager.float64)
    w = _leaf([1.0, 2.0, 3.0])
    x[1].add_(w * 2)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.detach().numpy(), [[0, 0, 0], [2, 4, 6]])
    np.testing.assert_allclose(w.grad.numpy(), [8.0, 16.0, 24.0])


def test_a_view_shares_the_version_counter_with_its_base():
    x = eager.zeros(2, 3)
    v = x[0]
    v.fill_(7)
    assert x._version[0] == v._version[0] == 1
    np.testing.assert_array_equal(x.numpy()[0], [7, 7, 7])


def test_writing_through_a_selected_element_changes_the_base():
    x = eager.zeros(3)
    x[1].fill_(5)
    x[2] += 1
    np.testing.assert_array_equal(x.numpy(), [0, 5, 1])


def test_in_place_cannot_broadcast_self():
    x = eager.zeros(3)
    with pytest.raises(eager.OpError, match=r"add_: output with shape \(3,\) doesn't match the broadcast shape "
                                            r"\(2, 3\)"):
        x.add_(eager.ones(2, 3))


def test_in_place_cannot_widen_an_integer_tensor():
    x = eager.ones(3, dtype=eager.int64)
    with pytest.raises(eager.OpError, match="result type float32 can't be cast to the desired output type int64"):
        x += 1.5


def test_fill_zero_and_copy():
    x = eager.ones(2, 3)
    x.zero_()
    np.testing.assert_array_equal(x.numpy(), np.zeros((2, 3)))
    x.fill_(2.5)
    np.testing.assert_array_equal(x.numpy(), np.full((2, 3), 2.5))
    x.copy_(eager.tensor([1, 2, 3]))  # broadcast, int64 cast to float32
    np.testing.assert_array_equal(x.numpy(), [[1, 2, 3], [1, 2, 3]])
    assert x.dtype is eager.float32


def test_copy_into_a_non_leaf_passes_the_gradient_to_the_source():
    src = _leaf([1.0, 2.0])
    dst = eager.zeros(2, 2, dtype=eager.float64)
    dst.copy_(src)
    dst.sum().backward()
    np.testing.assert_allclose(src.grad.numpy(), [2.0, 2.0])


def test_clamp_and_relu_in_place():
    def program(m):
        x = m.tensor([-2.0, -0.5, 0.5, 2.0], dtype=m.float64, requires_grad=True)
        h = x * 2
        h.clamp_(-1.5, 3.0)
        h.relu_()
        (h * x).sum().backward()
        return (h.detach().numpy(), x.grad.numpy())

    _assert_same_as_pytorch(program)

    def size(self, tensor, dim):  # `.shape` asks the active tracer
        return tensor.data.shape if dim is None else tensor.data.shape[dim]


def test_in_place_ops_tell_the_tracer_which_value_the_tensor_now_holds():
    tracer = RecordingTracer()
    x = eager.zeros(2)
    dispatch.TRACERS.append(tracer)
    try:
        x.add_(1)
    finally:
        dispatch.TRACERS.pop()
    new, result = tracer.aliases[-1]
    assert new is x and result is not x
    np.testing.assert_array_equal(result.numpy(), [1, 1])


def test_writing_through_a_view_tells_the_tracer_about_the_base():
    tracer = RecordingTracer()
    x = eager.zeros(2, 2)
    view = x[1]
    dispatch.TRACERS.append(tracer)
    try:
        view.fill_(3)
    finally:
        dispatch.TRACERS.pop()
    (base, base_value), (new, _) = tracer.aliases[-2:]
    assert base is x and new is view
    np.testing.assert_array_equal(base_value.numpy(), [[0, 0], [3, 3]])
    np.testing.assert_array_equal(x.numpy(), [[0, 0], [3, 3]])


def test_a_reshape_that_copies_is_not_a_view():
    x = eager.arange(6.0).reshape(2, 3).t()
    flat = x.reshape(6)  # a transpose cannot be flattened without a copy
    flat.fill_(0)
    assert x._version[0] == 0
    np.testing.assert_array_equal(x.numpy(), [[0, 3], [1, 4], [2, 5]])


def _writes_in_place(x):
    y = x * 2
    y[:, 0] += 1
    y[y > 3] = 0
    z = y.clone()
    z.add_(x)
    row = z[1]  # a view taken before z changes again
    z.mul_(2)
    return row * 1 + eager.cat([z, x], 1).sum(1)[1]


def test_a_trace_of_in_place_code_computes_what_eager_computes():
    from jitscript.tracer import trace

    traced = trace(_writes_in_place, (eager.randn(3, 4),))
    x = eager.randn(3, 4)
    np.testing.assert_allclose(traced(x).numpy(), _writes_in_place(x).numpy(), rtol=1e-6)


def _random_in_place_program(m, rng, x_values, w_values):
    """Views of views, in-place ops on any of them, assignments, uses; returns the gradients."""
    x = m.tensor(x_values, dtype=m.float64, requires_grad=True)
    w = m.tensor(w_values, dtype=m.float64, requires_grad=True)
    y = x * 1
    views, losses = [y], [(y * y).sum()]
    for _ in range(rng.integers(1, 8)):
        step, t = rng.integers(0, 5), views[rng.integers(0, len(views))]
        if step == 0:
            choice = rng.integers(0, 4)
            views.append(t[0] if choice == 0 and t.dim() else t.t() if choice == 1 and t.dim() == 2
                         else t[:, 1:] if choice == 2 and t.dim() == 2 else t.reshape(-1))
        elif step == 1:
            t.add_(1.5)
        elif step == 2:
            t.mul_(w.reshape(-1)[: t.numel()].reshape(t.shape))
        elif step == 3 and t.dim() == 2:
            t[0] = w[0, : t.shape[1]] * 3
        else:
            losses.append((t * t).sum())
    losses.append((y * y).sum())
    sum(losses).backward()
    return x.grad.numpy(), w.grad.numpy() if w.grad is not None else np.zeros(w_values.shape), y.detach().numpy()


def _outcome(m, seed, x_values, w_values):
    try:
        return _random_in_place_program(m, np.random.default_rng(seed), x_values, w_values)
    except RuntimeError as exc:
        return exc


@pytest.mark.slow
def test_random_in_place_programs_on_views_match_pytorch():
    torch = pytest.importorskip("torch")
    for seed in range(400):
        x_values, w_values = np.random.default_rng(seed).random((2, 2, 3))
        ours, theirs = (_outcome(m, seed, x_values, w_values) for m in (eager, torch))
        assert isinstance(ours, RuntimeError) == isinstance(theirs, RuntimeError), f"program {seed}: {ours} {theirs}"
        if isinstance(ours, RuntimeError):  # both refuse: a tensor saved for backward was modified
            continue
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, err_msg=f"program {seed}")
