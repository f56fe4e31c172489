"""`Tensor`: an n-dimensional array on a device, with autograd history.

A tensor holds a NumPy (cpu) or CuPy (cuda) array in `.data`. Ops are not defined here:
they live in the op registry (`eager/ops/`) and are bound as methods and operators by
`eager/tensor_methods.py`. This file holds storage, metadata, conversion and autograd entry
points only.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .backend import device as _device_cls
from .backend import device_of, normalize_device, to_device
from .ops import dispatch as _dispatch

_DTYPE_OF_NP = {d.np: d for d in _dt.ALL}


class Tensor:
    """A multi-dimensional array with optional gradient tracking (PyTorch semantics)."""

    __slots__ = ("data", "requires_grad", "grad", "_ctx", "_out_index", "_version", "_hooks",
                 "_retains_grad", "_view_of", "__weakref__")
    __array_priority__ = 1000  # NumPy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, data, dtype=None, device=None, requires_grad: bool = False) -> None:
        from .creation import as_array

        self.data = as_array(data, dtype, device)
        self._init(requires_grad)

    def _init(self, requires_grad: bool) -> None:
        self.requires_grad = requires_grad
        self.grad = None
        self._ctx = None
        self._out_index = 0
        self._version = [0]
        self._hooks = None
        self._retains_grad = False
        self._view_of = None  # (base, op, attrs, version) for a view; see eager/inplace.py

    @classmethod
    def _wrap(cls, array, requires_grad: bool = False) -> "Tensor":
        """Wrap an array without copying or validating it (the dispatcher's fast path)."""
        t = object.__new__(cls)
        t.data = array
        t._init(requires_grad)
        return t

    # ---- metadata -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The sizes of the dims (traced as IR ops while tracing, like `size()`)."""
        if _dispatch.TRACERS:
            return _dispatch.TRACERS[-1].size(self, None)
        return self.data.shape

    @property
    def dtype(self) -> _dt.DType:
        return _DTYPE_OF_NP[self.data.dtype]

    @property
    def device(self) -> _device_cls:
        return _device_cls(device_of(self.data))

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def is_cuda(self) -> bool:
        return device_of(self.data) == "cuda"

    def size(self, dim: int | None = None):
        """The shape, or one dimension of it (traced as an IR op while tracing)."""
        if _dispatch.TRACERS:
            return _dispatch.TRACERS[-1].size(self, dim)
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def element_size(self) -> int:
        return self.data.itemsize

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ---- leaving the graph ------------------------------------------------------------------
    def _escape(self, what: str) -> None:
        if _dispatch.TRACERS:
            _dispatch.TRACERS[-1].escape(self, what)

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shares memory on cpu); refuses tensors requiring grad."""
        if self.requires_grad:
            raise RuntimeError("numpy(): the tensor requires grad; call .detach().numpy() instead")
        self._escape("Tensor.numpy()")
        return to_device(self.data, "cpu")

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted, got shape {self.shape}")
        self._escape("Tensor.item()")
        return self.data.reshape(()).item()

    def tolist(self):
        """The data as (nested) Python lists."""
        self._escape("Tensor.tolist()")
        return to_device(self.data, "cpu").tolist()

    def __array__(self, dtype=None, copy=None):
        self._escape("np.asarray(tensor)")
        a = to_device(self.data, "cpu")
        return a if dtype is None else a.astype(dtype)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(f"bool() of a tensor with {self.data.size} elements is ambiguous")
        self._escape("bool(tensor)")
        return bool(self.data.reshape(()).item())

    def __int__(self) -> int:
        self._escape("int(tensor)")
        return int(self.data.reshape(()).item())

    def __float__(self) -> float:
        self._escape("float(tensor)")
        return float(self.data.reshape(()).item())

    def __index__(self) -> int:
        if self.dtype.category != 1 or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        self._escape("tensor used as an index")
        return int(self.data.reshape(()).item())

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        self._escape("iterating over a tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __repr__(self) -> str:
        body = np.array2string(to_device(self.data, "cpu"), separator=", ", precision=4,
                               prefix="tensor(")
        extras = []
        if self.dtype not in (_dt.float32, _dt.int64, _dt.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.is_cuda:
            extras.append("device='cuda'")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def __hash__(self) -> int:
        return id(self)

    # ---- devices and dtypes -----------------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        """`to(device)`, `to(dtype)` or `to(device, dtype)`; differentiable, no copy if unchanged."""
        from .ops.elementwise import cast

        device = kwargs.get("device")
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, (_dt.DType, type)) or (isinstance(a, str) and a in ("float32", "float64",
                                                                                "int32", "int64", "bool")):
                dtype = a
            elif isinstance(a, Tensor):
                device, dtype = a.device.type, a.dtype
            else:
                device = a
        t = self
        if device is not None and normalize_device(device) != device_of(self.data):
            from .ops.shape import to_device as move

            t = move(t, normalize_device(device))
        if dtype is not None and _dt.to_dtype(dtype) is not t.dtype:
            t = cast(t, _dt.to_dtype(dtype))
        return t

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def type(self, dtype) -> "Tensor":
        return self.to(dtype)

    def float(self) -> "Tensor":
        return self.to(_dt.float32)

    def double(self) -> "Tensor":
        return self.to(_dt.float64)

    def long(self) -> "Tensor":
        return self.to(_dt.int64)

    def int(self) -> "Tensor":
        return self.to(_dt.int32)

    def bool(self) -> "Tensor":
        return self.to(_dt.bool_)

    # ---- autograd ---------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (see `eager.autograd.backward`)."""
        from .autograd.engine import backward

        backward([self], [gradient], retain_graph, create_graph, inputs)

    def detach(self) -> "Tensor":
        """A tensor sharing data (and version counter) with no autograd history."""
        t = Tensor._wrap(self.data)
        t._version = self._version
        if _dispatch.TRACERS:
            _dispatch.TRACERS[-1].alias(t, self)
        return t

    def detach_(self) -> "Tensor":
        self._ctx = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set `requires_grad` in place (leaf tensors only, as in PyTorch)."""
        if self._ctx is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use detach()")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(f"only floating point tensors can require gradients, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; a non-None return replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self._ctx is not None:
            node = self._ctx
            if node.hooks is None:
                node.hooks = {}
            node.hooks.setdefault(self._out_index, []).append(hook)
        else:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
        return _RemovableHandle(self, hook)

    def retain_grad(self) -> None:
        """Keep `.grad` on a non-leaf tensor after backward."""
        if self._ctx is None or self._retains_grad:
            return
        import weakref

        ref = weakref.ref(self)
        self._retains_grad = True

        def keep(grad):
            t = ref()
            if t is not None:
                t.grad = grad if t.grad is None else t.grad + grad

        self.register_hook(keep)


_dispatch.Tensor = Tensor


class _RemovableHandle:
    def __init__(self, tensor: Tensor, hook) -> None:
        self.tensor, self.hook = tensor, hook

    def remove(self) -> None:
        t = self.tensor
        lists = [t._hooks or []]
        if t._ctx is not None and t._ctx.hooks:
            lists.append(t._ctx.hooks.get(t._out_index, []))
        for hooks in lists:
            if self.hook in hooks:
                hooks.remove(self.hook)


def is_tensor(obj) -> bool:
    """True for eager tensors."""
    return isinstance(obj, Tensor)

