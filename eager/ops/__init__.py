"""The op registry and the public op functions (one module per family of ops)."""
from . import elementwise, indexing, linalg, reduction, shape  # noqa: F401 - importing registers the ops
from .registry import REGISTRY, OpDef, Spec, get, register

__all__ = ["REGISTRY", "OpDef", "Spec", "get", "register"]
