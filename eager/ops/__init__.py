"""The op registry and the public op functions (one module per family of ops)."""
from . import conv as conv  # the NN families (ops-nn branch), one line each for easy merges
from . import elementwise, indexing, linalg, reduction, shape  # noqa: F401 - importing registers the ops
from . import losses as losses
from . import nn as nn
from . import normalization as normalization
from . import pooling as pooling
from . import recurrent as recurrent
from .registry import REGISTRY, OpDef, Spec, get, register

__all__ = ["REGISTRY", "OpDef", "Spec", "get", "register"]
