"""Custom differentiable functions, as `torch.autograd.Function`."""
from __future__ import annotations

import weakref

from ..ops.dispatch import Node
from .grad_mode import STATE, no_grad


class FunctionCtx:
    """The `ctx` passed to `forward` and `backward`: saves tensors and arbitrary attributes."""

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors
        self._saved_versions = tuple(t._version[0] if t is not None else 0 for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        for t, v in zip(self._saved, self._saved_versions):
            if t is not None and t._version[0] != v:
                raise RuntimeError("a tensor saved with save_for_backward was modified in place")
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = {id(t) for t in tensors}


class _FunctionOp:
    """Adapts a Function subclass to the shape of a registry row for the backward engine."""

    needs_input_values = False

    def __init__(self, cls, num_outputs: int, arg_positions: list[int], num_args: int) -> None:
        self.name = cls.__name__
        self.cls = cls
        self.num_outputs = num_outputs
        self.arg_positions = arg_positions
        self.num_args = num_args

    def vjp(self, node, *grads):
        result = self.cls.backward(node.fn_ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != self.num_args:
            raise RuntimeError(f"{self.name}.backward returned {len(result)} gradients, "
                               f"expected {self.num_args} (one per forward argument)")
        return tuple(result[i] for i in self.arg_positions)


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`; call `.apply`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must define backward")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor

        ctx = FunctionCtx()
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        inputs = tuple(args[i] for i in positions)
        if not (STATE.enabled and any(t.requires_grad for t in inputs)):
            return out
        outputs = out if isinstance(out, tuple) else (out,)
        node = Node(_FunctionOp(cls, len(outputs), positions, len(args)), inputs, {})
        node.fn_ctx = ctx
        node.out_refs = tuple(weakref.ref(o) for o in outputs)
        node.out_versions = tuple(o._version[0] for o in outputs)
        if len(outputs) > 1:
            node.out_meta = tuple((o.shape, o.dtype, o.device) for o in outputs)
        skip = getattr(ctx, "_non_differentiable", set())
        for i, o in enumerate(outputs):
            if id(o) in skip:
                continue
            o.requires_grad = True
            o._ctx = node
            o._out_index = i
        return out
