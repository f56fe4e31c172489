"""In-place ops (`add_`, `mul_`, `x[i] = v`, `+=`, ...): computed out of place, written back.

`apply_inplace(self, fn, *args)` runs `fn(old_self, *args)` with the ordinary (recorded) ops,
copies the result into self's buffer, bumps self's version counter and moves the result's
tape node onto self. While gradients are recorded, `old_self` is a *shell*: a tensor holding a
copy of self's old values and self's old history, never self itself, so the tape has no cycle
and every node reads the values it saw in the forward pass.

A view shares its base's buffer and version counter. Writing into a view rebases the base:
the view op's row says how to put a new view value back into its base (`extra["unview"]`: a
slice is written with index_put, a reshape is reshaped back). Other views of a base written
this way are refreshed lazily: the dispatcher sees that their version moved on and re-derives
their history from the base (`dispatch.refresh_view`), as PyTorch regenerates a view's grad_fn.
Nodes that saved a tensor modified later raise at backward (see `dispatch.raise_modified`).
"""
from __future__ import annotations

import weakref

from .autograd.grad_mode import STATE as GRAD_MODE
from .errors import OpError
from .ops import dispatch
from .ops import elementwise as E
from .ops import indexing as I
from .tensor import Tensor


def _requires_grad(args) -> bool:
    return any(isinstance(a, Tensor) and a.requires_grad for a in args)


def _check_not_leaf(t: Tensor, what: str = "a leaf Variable") -> None:
    if t.requires_grad and t._ctx is None:
        raise RuntimeError(f"{what} that requires grad is being used in an in-place operation.")


def _shell(t: Tensor) -> Tensor:
    """A stand-in for `t`'s current value and history, for the node that replaces them.

    It holds a copy of the old values (the buffer is about to be overwritten), so the node that
    made `t` and the node of the in-place op both read what they saw in the forward pass.
    """
    _refresh_if_stale(t)
    shell = Tensor._wrap(t.data.copy(), t.requires_grad)
    shell._version = [t._version[0]]
    node = t._ctx
    if node is not None:
        shell._ctx, shell._out_index = node, t._out_index
        _retarget(node, t._out_index, shell, t._version[0])
    if dispatch.TRACERS:
        dispatch.TRACERS[-1].alias(shell, t)
    return shell


def _refresh_if_stale(t: Tensor) -> None:
    """Re-derive a view's history from its base when the base was written since it was taken."""
    if t._view_of is not None and t._version[0] != t._view_of[3]:
        dispatch.refresh_view(t)


def _retarget(node, index: int, t: Tensor, version: int) -> None:
    """Make output `index` of `node` refer to `t` at `version` (weakly, as the dispatcher does)."""
    refs, versions = list(node.out_refs), list(node.out_versions)
    refs[index], versions[index] = weakref.ref(t), version
    node.out_refs, node.out_versions = tuple(refs), tuple(versions)


def _conform(op: str, self: Tensor, result: Tensor) -> Tensor:
    """`result` cast to self's dtype; an in-place op can neither broadcast self nor widen its type."""
    if result.data.shape != self.data.shape:  # .data: a check, not a size a tracer should record
        raise OpError(op, f"output with shape {self.data.shape} doesn't match the broadcast shape "
                      f"{result.data.shape}")
    if result.dtype.category > self.dtype.category:
        raise OpError(op, f"result type {result.dtype.name} can't be cast to the desired output type "
                      f"{self.dtype.name}")
    return E.cast(result, self.dtype)


def _adopt(self: Tensor, result: Tensor) -> None:
    """Give `self` the tape history of `result` (whose value self now holds)."""
    self.requires_grad = result.requires_grad
    self._ctx, self._out_index = result._ctx, result._out_index
    if result._ctx is not None:
        _retarget(result._ctx, result._out_index, self, self._version[0])


def _assign(self: Tensor, result: Tensor, recording: bool) -> None:
    """Write `result` into self (through its base when self is a view that must be rebased)."""
    view_of = self._view_of if recording or dispatch.TRACERS else None
    unview = view_of[1].extra.get("unview") if view_of is not None else None
    if unview is None:
        if view_of is not None and recording:
            raise RuntimeError(f"{view_of[1].name}: an in-place operation on this view is not supported "
                               "while recording gradients; use the out-of-place form")
        self.data[...] = result.data
        self._version[0] += 1
        if recording:
            _adopt(self, result)
        return
    base, op, attrs, _ = view_of
    if recording:
        _check_not_leaf(base, "a view of a leaf Variable")
    new_base = unview(_shell(base) if recording else base, result, attrs)
    _assign(base, new_base, recording)  # writes self's data too: they share memory
    if dispatch.TRACERS:
        dispatch.TRACERS[-1].alias(base, new_base)
    if recording:
        _adopt(self, dispatch.apply(op, (base,), attrs, trace=False))
    self._view_of = (base, op, attrs, self._version[0])


def apply_inplace(self: Tensor, name: str, fn, *args) -> Tensor:
    """self <- fn(self, *args) in place."""
    _refresh_if_stale(self)  # a view of a base written since may have gained a history
    recording = GRAD_MODE.enabled and (self.requires_grad or _requires_grad(args))
    if recording:
        _check_not_leaf(self)
    old = _shell(self) if recording else self
    result = _conform(name, self, fn(old, *args))
    _assign(self, result, recording)
    if dispatch.TRACERS:
        dispatch.TRACERS[-1].alias(self, result)
    return self


# ---- the in-place methods -------------------------------------------------------------------------
def add_(self, other, *, alpha=1):
    """self += alpha * other."""
    return apply_inplace(self, "add_", lambda x, o: E.add(x, o, alpha=alpha), other)


def sub_(self, other, *, alpha=1):
    """self -= alpha * other."""
    return apply_inplace(self, "sub_", lambda x, o: E.sub(x, o, alpha=alpha), other)


def mul_(self, other):
    """self *= other."""
    return apply_inplace(self, "mul_", E.mul, other)


def div_(self, other, *, rounding_mode=None):
    """self /= other."""
    return apply_inplace(self, "div_", lambda x, o: E.div(x, o, rounding_mode=rounding_mode), other)


def pow_(self, exponent):
    """self **= exponent."""
    return apply_inplace(self, "pow_", E.pow, exponent)


def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
    """Limit self to [min, max] in place."""
    return apply_inplace(self, "clamp_", lambda x: E.clamp(x, min, max))


def relu_(self):
    """max(self, 0) in place."""
    return apply_inplace(self, "relu_", E.relu)


def fill_(self, value):
    """Set every element to `value` (a number or a 0-d tensor)."""
    return apply_inplace(self, "fill_", lambda x, v: I.index_put(x, v, (), ()), value)


def zero_(self):
    """Set every element to zero."""
    return fill_(self, 0)


def copy_(self, src, non_blocking: bool = False):
    """Copy `src` (broadcast, cast to self's dtype and device) into self."""
    if isinstance(src, Tensor) and src.device != self.device:
        src = src.to(self.device.type)
    return apply_inplace(self, "copy_", lambda x, s: I.index_put(x, s, (), ()), src)


def setitem(self, key, value) -> None:
    """`self[key] = value` (value broadcast and cast to self's dtype)."""
    apply_inplace(self, "setitem", lambda x, v: I.setitem(x, key, v), value)


def masked_fill_(self, mask, value):
    """Set self to `value` where `mask` is true."""
    return apply_inplace(self, "masked_fill_", lambda x, v: I.masked_fill(x, mask, v), value)


def scatter_(self, dim: int, index, src=None, *, value=None):
    """self[i][index[i][j]] = src[i][j] (dim=1) in place; `src` may be a number."""
    return apply_inplace(self, "scatter_", lambda x, s: I.scatter(x, dim, index, s), value if src is None else src)


def scatter_add_(self, dim: int, index, src):
    """self[i][index[i][j]] += src[i][j] (dim=1) in place."""
    return apply_inplace(self, "scatter_add_", lambda x, s: I.scatter_add(x, dim, index, s), src)


METHODS = {
    "add_": add_, "sub_": sub_, "mul_": mul_, "div_": div_, "pow_": pow_, "clamp_": clamp_, "clip_": clamp_,
    "relu_": relu_, "fill_": fill_, "zero_": zero_, "copy_": copy_, "__setitem__": setitem,
    "masked_fill_": masked_fill_, "scatter_": scatter_, "scatter_add_": scatter_add_,
    "__iadd__": add_, "__isub__": sub_, "__imul__": mul_, "__itruediv__": div_, "__ipow__": pow_,
}
