"""Reverse-mode autodiff over the dynamic tape built by the dispatcher.

Every VJP is written with eager ops, so running the backward pass with grad mode on
(`create_graph=True`) records a differentiable tape of the backward pass itself.
"""
from __future__ import annotations

from ..ops.dispatch import Node
from .grad_mode import set_grad_enabled


def _topo_order(roots: list[Node]) -> list[Node]:
    """Nodes reachable from `roots`, each after every node that consumes its outputs."""
    order, seen = [], set()
    stack = [(n, False) for n in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node.inputs is None:
            continue
        for edge in node.edges:
            if edge is not None and edge[0] is not None and id(edge[0]) not in seen:
                stack.append((edge[0], False))
    order.reverse()
    return order


def _accumulate(slot: dict, key, grad) -> None:
    prev = slot.get(key)
    slot[key] = grad if prev is None else prev + grad


def _run_hooks(hooks, grad):
    for hook in hooks or ():
        new = hook(grad)
        if new is not None:
            grad = new
    return grad


def run_backward(outputs, grad_outputs, retain_graph: bool, create_graph: bool, capture=None):
    """Propagate `grad_outputs` from `outputs`; accumulate into leaves' `.grad`, or, when
    `capture` (a dict id(tensor) -> None) is given, collect those tensors' gradients instead."""
    from ..tensor import Tensor

    node_grads: dict[int, dict] = {}
    roots = []
    with set_grad_enabled(create_graph):
        for out, g in zip(outputs, grad_outputs):
            if capture is not None and id(out) in capture:
                _accumulate(capture, id(out), g)
            if out._ctx is None:
                if capture is None and out.requires_grad:
                    _accumulate_leaf(out, g, create_graph)
                continue
            roots.append(out._ctx)
            _accumulate(node_grads.setdefault(id(out._ctx), {}), out._out_index, g)
        for node in _topo_order(roots):
            slot = node_grads.pop(id(node), None)
            if slot is None:
                continue
            node.check_versions()
            grads = []
            for i in range(node.op.num_outputs):
                g = slot.get(i)
                if g is None and node.out_meta is not None:
                    shape, dtype, device = node.out_meta[i]
                    from ..creation import zeros

                    g = zeros(shape, dtype=dtype, device=device.type)
                if node.hooks and i in node.hooks:
                    g = _run_hooks(node.hooks[i], g)
                grads.append(g)
            in_grads = node.op.vjp(node, *grads)
            if not isinstance(in_grads, (tuple, list)):
                in_grads = (in_grads,)
            for t, edge, g in zip(node.inputs, node.edges, in_grads):
                if g is None or edge is None:
                    continue
                if not isinstance(g, Tensor):
                    raise TypeError(f"{node.op.name}: VJP returned {type(g).__name__}, not a Tensor")
                if capture is not None and id(t) in capture:
                    _accumulate(capture, id(t), g)
                if edge[0] is not None:
                    _accumulate(node_grads.setdefault(id(edge[0]), {}), edge[1], g)
                elif capture is None:
                    _accumulate_leaf(t, g, create_graph)
            if not retain_graph:
                node.inputs = None


def _accumulate_leaf(t, g, create_graph: bool) -> None:
    g = _run_hooks(t._hooks, g)
    if g.shape != t.shape:
        raise RuntimeError(f"gradient of shape {g.shape} for a leaf of shape {t.shape}")
    if not create_graph:
        g = g.detach()
    t.grad = g if t.grad is None else t.grad + g


def _default_grad(out, grad):
    from ..creation import ones_like
    from ..tensor import Tensor

    if grad is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs, got shape {out.shape}; "
                "pass gradient=")
        return ones_like(out)
    return grad if isinstance(grad, Tensor) else Tensor(grad, dtype=out.dtype, device=out.device.type)


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate gradients of `tensors` into the `.grad` of the leaves (or of `inputs`)."""
    tensors = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    grad_tensors = grad_tensors if grad_tensors is not None else [None] * len(tensors)
    if not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors]
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    grads = [_default_grad(t, g) for t, g in zip(tensors, grad_tensors)]
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is None:
        run_backward(tensors, grads, retain, create_graph)
        return
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    found = grad(tensors, inputs, grads, retain_graph=retain, create_graph=create_graph,
                 allow_unused=True)
    for t, g in zip(inputs, found):
        if g is not None:
            _accumulate_leaf(t, g, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False):
    """The gradients of `outputs` with respect to `inputs`, as a tuple (PyTorch's autograd.grad)."""
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("grad: one of the inputs does not require grad")
    grads = [_default_grad(o, g) for o, g in zip(outputs, grad_outputs)]
    capture = {id(t): None for t in inputs}
    retain = create_graph if retain_graph is None else retain_graph
    run_backward(outputs, grads, retain, create_graph, capture)
    result = []
    for i, t in enumerate(inputs):
        g = capture[id(t)]
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} was not used in the graph; pass allow_unused=True")
        result.append(g if g is None or create_graph else g.detach())
    return tuple(result)
