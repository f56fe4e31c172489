"""The eager dispatcher: run an op's forward, record the tape, notify an active tracer."""
from __future__ import annotations

import weakref

import numpy as np

from ..autograd.grad_mode import STATE as GRAD_MODE
from ..errors import OpError, shapes_text
from .registry import OpDef

# Tracers push themselves here while they run (see jitscript.tracer); empty otherwise.
TRACERS: list = []


class OpObserver:
    """What eager tells the innermost object in `TRACERS`; subclass it and override what you need.

    The defaults observe nothing and keep eager's behaviour, so an observer that only wants
    `record` (a test's op recorder) still works when eager grows another notification.
    """

    def record(self, op: OpDef, inputs: tuple, attrs: dict, outputs: tuple) -> None:
        """An op ran on `inputs` (tensors or None) with `attrs` and produced `outputs`."""

    def size(self, tensor, dim: int | None):
        """`tensor.size(dim)`: the shape (or one dim) the caller sees."""
        shape = tensor.data.shape
        return shape if dim is None else shape[dim]

    def escape(self, tensor, what: str) -> None:
        """A tensor's value leaves the graph (`.item()`, `bool(t)`, ...)."""

    def alias(self, new, old) -> None:
        """`new` now holds `old`'s value (detach, in-place ops)."""

    def filled(self, tensor, fill, size: tuple) -> None:
        """`tensor` was created as `full(size, fill)`."""

    def scalar_tensor_of(self, tensor, number) -> None:
        """`tensor` is a 0-d tensor made from a traced number."""

# The Tensor class; eager/tensor.py sets it when it is defined (it imports this module, so this
# module cannot import it at load time, and a per-call import would cost a third of a microsecond).
Tensor = None


class Node:
    """One tape entry: the op applied, its inputs and attributes; also the VJP's `ctx`."""

    __slots__ = ("op", "inputs", "attrs", "edges", "versions", "out_refs", "out_versions", "out_meta",
                 "hooks", "saved", "__weakref__", "__dict__")

    def __init__(self, op, inputs, attrs) -> None:
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        # where each input's gradient goes, fixed now: an in-place op may later give the input
        # tensor a new history, which must not receive gradients meant for its old value.
        # None: no gradient; (None, 0): accumulate into the leaf; else (node, output index).
        self.edges = tuple([None if t is None or not t.requires_grad else (t._ctx, t._out_index)
                            for t in inputs])
        self.versions = tuple([t._version[0] if t is not None else 0 for t in inputs]) \
            if getattr(op, "needs_input_values", True) else None
        self.hooks = None
        self.out_meta = None

    @property
    def name(self) -> str:
        return self.op.name

    def out(self, index: int = 0):
        """The forward output `index` as a tensor (for VJPs such as exp's `g * out`)."""
        tensor = self.out_refs[index]()
        if tensor is None or tensor._version[0] != self.out_versions[index]:
            if tensor is not None:
                raise_modified(self, "its output")
            again = apply(self.op, self.inputs, self.attrs, trace=False)
            return again[index] if self.op.num_outputs > 1 else again
        return tensor

    def check_versions(self) -> None:
        if self.inputs is None:
            raise RuntimeError(
                f"{self.op.name}: trying to backward through the graph a second time; "
                "pass retain_graph=True to the first backward")
        if self.versions is None:
            return
        for t, v in zip(self.inputs, self.versions):
            if t is not None and t._version[0] != v:
                raise_modified(self, f"an input of shape {tuple(t.shape)}")


def raise_modified(node: Node, what: str) -> None:
    raise RuntimeError(
        f"{node.op.name}: one of the tensors needed for gradient computation ({what}) has been "
        "modified by an in-place operation; clone it before modifying it")


def apply(op: OpDef, inputs: tuple, attrs: dict, trace: bool = True):
    """Run `op` on tensors `inputs` (None allowed for optional inputs) with `attrs`."""
    # the hot path of every eager op: plain loops and no per-call imports (see benchmarks/)
    for t in inputs:
        if t is not None and t._view_of is not None and t._version[0] != t._view_of[3]:
            refresh_view(t)
    arrays = [None if t is None else t.data for t in inputs]
    xp = np if type(arrays[0]) is np.ndarray else _xp_of_inputs(arrays)
    try:
        out = op.forward(xp, *arrays, **attrs)
    except OpError:
        raise
    except (ValueError, IndexError, TypeError) as exc:
        raise OpError(op.name, f"{exc}; input shapes {shapes_text(arrays)}") from None
    needs_grad = False
    if GRAD_MODE.enabled and op.vjp is not None:
        for t in inputs:
            if t is not None and t.requires_grad:
                needs_grad = True
                break
    wrap = Tensor._wrap
    if op.num_outputs == 1:
        if isinstance(out, np.generic):  # NumPy reductions return scalars, not 0-d arrays
            out = np.asarray(out)
        result = wrap(out, needs_grad)
        outputs = (result,)
    else:
        outputs = tuple(wrap(np.asarray(o) if isinstance(o, np.generic) else o,
                             needs_grad and o.dtype.kind == "f") for o in out)  # int outputs: no grad
        result = outputs
    if needs_grad:
        _record(op, inputs, attrs, outputs)
    extra = op.extra
    if extra.get("view") and out.base is not None and (
            not extra.get("may_copy") or xp.may_share_memory(out, arrays[0])):
        # a view: writes through it reach the input, so they share a version counter, and an
        # in-place op on it rebases the input's history (see eager/inplace.py)
        result._version = inputs[0]._version
        result._view_of = (inputs[0], op, attrs, result._version[0])
    if TRACERS and trace:
        TRACERS[-1].record(op, inputs, attrs, outputs)
    return result


def refresh_view(view) -> None:
    """Give a view whose base was written in place since its history was recorded the history
    (and, for a tracer, the value) of the view op applied to the base as it is now, as PyTorch
    regenerates a view's grad_fn; else its gradient would flow to the base's old history."""
    base, op, attrs, _ = view._view_of
    fresh = apply(op, (base,), attrs)
    if GRAD_MODE.enabled:
        view.requires_grad, view._ctx, view._out_index = fresh.requires_grad, fresh._ctx, 0
        if fresh._ctx is not None:
            fresh._ctx.out_refs = (weakref.ref(view),)
            fresh._ctx.out_versions = (view._version[0],)
    view._view_of = (base, op, attrs, view._version[0])
    if TRACERS:
        TRACERS[-1].alias(view, fresh)


def _record(op: OpDef, inputs: tuple, attrs: dict, outputs: tuple) -> None:
    """Put a tape node for this call on the outputs."""
    node = Node(op, inputs, attrs)
    # Outputs without gradient (max_pool2d's indices) get no _ctx, so holding them strongly makes
    # no cycle, and the VJP can read them even after the caller dropped them.
    node.out_refs = tuple([weakref.ref(t) if t.requires_grad else _held(t) for t in outputs])
    node.out_versions = (0,) * len(outputs)
    if len(outputs) > 1:
        node.out_meta = tuple((o.shape, o.dtype, o.device) for o in outputs)
    for i, t in enumerate(outputs):
        if t.requires_grad:
            t._ctx = node
            t._out_index = i


def _held(tensor):
    """A strong reference with weakref's call interface."""
    return lambda: tensor


def _xp_of_inputs(arrays):
    from ..backend import xp_of

    for a in arrays:
        if a is not None:
            return xp_of(a)
    return np
