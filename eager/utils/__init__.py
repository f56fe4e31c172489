"""`eager.utils`: PyTorch's torch.utils paths (`eager.utils.data`)."""
from . import data

__all__ = ["data"]
