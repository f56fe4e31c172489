"""Array-module backends: NumPy for "cpu", CuPy for "cuda" (imported only when first used)."""
from __future__ import annotations

import numpy as np

_cupy = None


def cupy():
    """Import CuPy on first use; raise a clear error when it or a GPU is missing."""
    global _cupy  # a lazily filled import cache, not program state
    if _cupy is None:
        try:
            import cupy as cp

            cp.cuda.runtime.getDeviceCount()
        except Exception as exc:  # ImportError, or CUDA driver errors
            raise RuntimeError(f"device 'cuda' is not available: {exc}") from None
        _cupy = cp
    return _cupy


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        cupy()
    except RuntimeError:
        return False
    return True


def normalize_device(device) -> str:
    """Accept "cpu", "cuda", "cuda:0" or an object with a `.type`; return "cpu" or "cuda"."""
    if device is None:
        return "cpu"
    name = getattr(device, "type", device)
    name = str(name).split(":")[0]
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
    return name


def xp_for(device: str):
    """The array module for a device name."""
    return np if device == "cpu" else cupy()


def xp_of(array):
    """The array module that owns `array`."""
    return np if isinstance(array, (np.ndarray, np.generic)) else cupy()


def device_of(array) -> str:
    return "cpu" if isinstance(array, (np.ndarray, np.generic)) else "cuda"


def to_device(array, device: str):
    """Move an array between NumPy and CuPy (no copy when already there)."""
    if device == "cpu":
        return array if isinstance(array, np.ndarray) else cupy().asnumpy(array)
    cp = cupy()
    return array if isinstance(array, cp.ndarray) else cp.asarray(array)


class device:  # noqa: N801 - PyTorch spells it torch.device
    """A device name, as `torch.device("cuda")`."""

    def __init__(self, name: str) -> None:
        self.type = normalize_device(name)

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __eq__(self, other) -> bool:
        return normalize_device(other) == self.type

    def __hash__(self) -> int:
        return hash(self.type)

    def __str__(self) -> str:
        return self.type
