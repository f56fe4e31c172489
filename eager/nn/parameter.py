"""`Parameter`: a tensor that a `Module` registers as learnable when assigned as an attribute."""
from __future__ import annotations

import numpy as np

from ..creation import as_array
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor with `requires_grad=True` by default (PyTorch's `nn.Parameter`).

    It shares the array of the tensor it wraps; ops on it give plain tensors.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            array = data.data
        else:
            array = as_array(data)
        self.data = array
        self._init(False)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> "Parameter":
        copy = Parameter(self.data.copy(), self.requires_grad)
        memo[id(self)] = copy
        return copy

    def __reduce__(self):
        return (Parameter, (self.data, self.requires_grad))
