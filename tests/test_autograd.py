"""The autograd engine: backward, retain_graph, create_graph, hooks, Function, grad modes."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager.autograd import Function


def _leaf(values):
    return eager.tensor(values, dtype=eager.float64, requires_grad=True)


def test_backward_accumulates_into_grad_across_calls():
    x = _leaf([1.0, 2.0])
    (x * x).sum().backward()
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])


def test_shared_subexpression_gradients_add_up():
    x = _leaf([2.0])
    y = x * x
    (y + y * x).sum().backward()  # d/dx (x^2 + x^3) = 2x + 3x^2
    np.testing.assert_allclose(x.grad.numpy(), [16.0])


def test_second_backward_without_retain_graph_raises():
    x = _leaf([1.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = _leaf([3.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0])


def test_non_scalar_backward_needs_a_gradient():
    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(eager.tensor([1.0, 10.0], dtype=eager.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_create_graph_gives_higher_order_derivatives():
    x = _leaf([0.5, 2.0])
    y = (x * x * x).sum()
    (g,) = eager.autograd.grad(y, [x], create_graph=True)
    (h,) = eager.autograd.grad(g.sum(), [x], create_graph=True)
    (t,) = eager.autograd.grad(h.sum(), [x])
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([0.5, 2.0]) ** 2)
    np.testing.assert_allclose(h.detach().numpy(), [3.0, 12.0])
    np.testing.assert_allclose(t.numpy(), [6.0, 6.0])


def test_backward_with_create_graph_leaves_a_differentiable_grad():
    x = _leaf([1.5])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = eager.autograd.grad(x.grad.sum(), [x])
    np.testing.assert_allclose(g2.numpy(), [9.0])


def test_grad_of_an_unused_input():
    x, z = _leaf([1.0]), _leaf([2.0])
    with pytest.raises(RuntimeError, match="was not used in the graph"):
        eager.autograd.grad((x * 2).sum(), [x, z])
    gx, gz = eager.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


def test_grad_does_not_touch_dot_grad():
    x = _leaf([1.0])
    eager.autograd.grad((x * 2).sum(), [x])
    assert x.grad is None


def test_hook_on_an_intermediate_replaces_its_gradient():
    x = _leaf([1.0, 2.0])
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])


def test_leaf_hook_and_handle_remove():
    x = _leaf([1.0])
    handle = x.register_hook(lambda g: g * 2)
    (x * 1).sum().backward()
    handle.remove()
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0])


def test_retain_grad_keeps_an_intermediate_gradient():
    x = _leaf([1.0, 2.0])
    y = x * x
    y.retain_grad()
    (y * 3).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [3.0, 3.0])


def test_no_grad_records_nothing_and_enable_grad_reenables():
    x = _leaf([1.0])
    with eager.no_grad():
        y = x * 2
        with eager.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    assert eager.is_grad_enabled()


def test_no_grad_as_a_decorator_and_set_grad_enabled():
    @eager.no_grad()
    def double(t):
        return t * 2

    x = _leaf([1.0])
    assert not double(x).requires_grad
    with eager.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_detach_shares_data_and_stops_gradients():
    x = _leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.data is x.data
    (x * d).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 2.0])


class _Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.scale, None


def test_custom_function_forward_and_backward():
    x = _leaf([1.0, 2.0])
    y = _Cube.apply(x, 2.0)
    np.testing.assert_allclose(y.detach().numpy(), [2.0, 16.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])


def test_custom_function_backward_is_differentiable_with_create_graph():
    x = _leaf([2.0])
    (g,) = eager.autograd.grad(_Cube.apply(x, 1.0).sum(), [x], create_graph=True)
    (h,) = eager.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), [12.0])


def test_custom_function_saved_tensor_modified_in_place_raises():
    x = _leaf([1.0])
    h = x * 1
    y = _Cube.apply(h, 1.0)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_multi_output_op_with_one_output_used():
    x = _leaf([[1.0, 5.0], [7.0, 2.0]])
    values, indices = x.max(1)
    values.sum().backward()
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1], [1, 0]])


def test_integer_outputs_do_not_require_grad():
    x = _leaf([1.0, 3.0])
    assert not x.argmax().requires_grad
    assert not (x > 2).requires_grad


def test_only_floating_tensors_can_require_grad():
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        eager.tensor([1, 2]).requires_grad_()


def test_backward_inputs_restricts_accumulation():
    x, z = _leaf([1.0]), _leaf([1.0])
    (x * z).sum().backward(inputs=[x])
    assert x.grad.item() == 1.0 and z.grad is None
