"""Random numbers: one seeded generator (`manual_seed`), the same stream on cpu and cuda.

Values are drawn with NumPy's PCG64 on the host and moved to the device, so a seed gives the
same numbers whatever the device.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .backend import normalize_device, to_device
from .tensor import Tensor


class Generator:
    """A random stream (PyTorch's `torch.Generator`): `manual_seed`, `seed`, `initial_seed`."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._seed = 0
        self.np = np.random.default_rng(0)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.np = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self.np = np.random.default_rng(self._seed)
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self.np.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.np.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (reproducible `rand`, `randn`, dropout, init, shuffling)."""
    return default_generator.manual_seed(seed)


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _make(values: np.ndarray, dtype, device, requires_grad: bool) -> Tensor:
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.default_float
    t = Tensor._wrap(to_device(values.astype(dt.np, copy=False), normalize_device(device)))
    return t.requires_grad_(True) if requires_grad else t


def rand(*size, generator: Generator | None = None, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    g = generator or default_generator
    return _make(g.np.random(_size(size)), dtype, device, requires_grad)


def randn(*size, generator: Generator | None = None, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    g = generator or default_generator
    return _make(g.np.standard_normal(_size(size)), dtype, device, requires_grad)


def randint(low: int, high: int | None = None, size=(), generator: Generator | None = None,
            dtype=None, device=None) -> Tensor:
    """Integers uniform in [low, high); int64 by default."""
    if high is None:
        low, high = 0, low
    g = generator or default_generator
    return _make(g.np.integers(low, high, size=tuple(size)), dtype or _dt.int64, device, False)


def randperm(n: int, generator: Generator | None = None, dtype=None, device=None) -> Tensor:
    """A random permutation of 0..n-1."""
    g = generator or default_generator
    return _make(g.np.permutation(n), dtype or _dt.int64, device, False)


def rand_like(t: Tensor, dtype=None, device=None) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, device=device or t.device.type)


def randn_like(t: Tensor, dtype=None, device=None) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, device=device or t.device.type)
