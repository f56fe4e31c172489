"""`eager.nn`: modules, layers and losses (PyTorch's torch.nn)."""
from . import functional

__all__ = ["functional"]
