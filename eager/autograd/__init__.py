"""Autograd: the tape engine, grad modes, custom Functions and gradient checks."""
from .engine import backward, grad
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["backward", "grad", "Function", "FunctionCtx", "enable_grad", "is_grad_enabled",
           "no_grad", "set_grad_enabled", "gradcheck", "gradgradcheck"]
