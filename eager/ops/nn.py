"""NN building blocks: softmax, log_softmax, one_hot, embedding (+ its adjoint), and the
composites dropout and scaled_dot_product_attention."""
from __future__ import annotations

import math
import warnings

from .. import dtypes as _dt
from ..errors import OpError
from .dispatch import apply
from .registry import OpDef, Spec, register
from .rules import normalize_dim


# ---- softmax family ------------------------------------------------------------------------------
def _softmax_forward(xp, a, dim):
    e = xp.exp(a - a.max(axis=dim, keepdims=True))  # shifted by the max: exp never overflows
    return e / e.sum(axis=dim, keepdims=True)


def _log_softmax_forward(xp, a, dim):
    shifted = a - a.max(axis=dim, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))


def _softmax_vjp(c, g):
    y = c.out()
    return y * (g - (g * y).sum(c.attrs["dim"], keepdim=True))


def _log_softmax_vjp(c, g):
    from .elementwise import exp

    return g - exp(c.out()) * g.sum(c.attrs["dim"], keepdim=True)


SOFTMAX = register(OpDef("softmax", forward=_softmax_forward, vjp=_softmax_vjp, infer=lambda a, dim: a,
                         attrs=("dim",), smooth=True, needs_input_values=False,
                         doc="exp(x) / sum(exp(x)) along dim, computed from x - max(x)."))
LOG_SOFTMAX = register(OpDef("log_softmax", forward=_log_softmax_forward, vjp=_log_softmax_vjp,
                             infer=lambda a, dim: a, attrs=("dim",), smooth=True, needs_input_values=False,
                             doc="x - logsumexp(x) along dim, computed from x - max(x)."))


def _softmax_dim(op: str, input, dim, dtype):
    """Cast to `dtype`, check the input is floating, resolve `dim` (PyTorch's legacy implicit dim)."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise OpError(op, f"needs a floating point input, got {input.dtype.name}")
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include "
                      "dim=X as an argument.", stacklevel=3)
    return input, normalize_dim(op, dim, input.ndim)


def softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None):
    """Softmax along `dim` (torch.nn.functional.softmax)."""
    input, dim = _softmax_dim("softmax", input, dim, dtype)
    if input.ndim == 0:
        input = input.reshape(1)
        return apply(SOFTMAX, (input,), {"dim": 0}).reshape(())
    return apply(SOFTMAX, (input,), {"dim": dim})


def log_softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None):
    """Logarithm of softmax along `dim`, without forming the softmax (numerically stable)."""
    input, dim = _softmax_dim("log_softmax", input, dim, dtype)
    if input.ndim == 0:
        return apply(LOG_SOFTMAX, (input.reshape(1),), {"dim": 0}).reshape(())
    return apply(LOG_SOFTMAX, (input,), {"dim": dim})


# ---- one_hot ---------------------------------------------------------------------------------------
def _one_hot_forward(xp, a, num_classes):
    if a.size and (int(a.min()) < 0 or int(a.max()) >= num_classes):
        raise OpError("one_hot", f"class values must be in [0, {num_classes}), got values in "
                      f"[{int(a.min())}, {int(a.max())}] (input shape {a.shape})")
    return (a[..., None] == xp.arange(num_classes)).astype(_dt.int64.np)


ONE_HOT = register(OpDef("one_hot", forward=_one_hot_forward, attrs=("num_classes",),
                         infer=lambda a, num_classes: Spec(_dt.int64, tuple(a.shape) + (num_classes,)),
                         doc="(..., num_classes) int64 with a 1 at each index."))


def one_hot(tensor, num_classes: int = -1):
    """int64 one-hot encoding of an integer tensor; num_classes=-1 takes max + 1."""
    if tensor.dtype is not _dt.int64:
        raise OpError("one_hot", f"needs an int64 (long) tensor of class indices, got {tensor.dtype.name}")
    if num_classes == -1:
        num_classes = int(tensor.data.max()) + 1 if tensor.numel() else 0
    return apply(ONE_HOT, (tensor,), {"num_classes": int(num_classes)})


# ---- embedding: a row gather, and its adjoint, a row scatter-add ----------------------------------------
def _check_indices(op: str, xp, indices, rows: int) -> None:
    if indices.dtype.kind not in "iu":
        raise OpError(op, f"indices must be an integer tensor, got {indices.dtype}")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= rows):
        raise OpError(op, f"index out of range: indices span [{int(indices.min())}, {int(indices.max())}] "
                      f"but there are {rows} rows")


def _embedding_forward(xp, weight, indices, padding_idx):
    _check_indices("embedding", xp, indices, weight.shape[0])
    return xp.take(weight, indices, axis=0)


def _embedding_backward_forward(xp, g, indices, num_weights, padding_idx):
    row_shape = g.shape[indices.ndim:]
    if not row_shape:  # scalar rows (max_pool2d's gradient): bincount is much faster than add.at
        out = xp.bincount(indices.reshape(-1), g.reshape(-1), minlength=num_weights).astype(g.dtype)
    else:
        out = xp.zeros((num_weights,) + row_shape, dtype=g.dtype)
        xp.add.at(out, indices.reshape(-1), g.reshape((indices.size,) + row_shape))
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


def _embedding_vjp(c, g):
    weight, indices = c.inputs
    return apply(EMBEDDING_BACKWARD, (g, indices), {"num_weights": weight.shape[0],
                                                    "padding_idx": c.attrs["padding_idx"]}), None


def _embedding_backward_vjp(c, gw):
    _, indices = c.inputs
    rows = apply(EMBEDDING, (gw, indices), {"padding_idx": None})
    pad = c.attrs["padding_idx"]
    if pad is None:
        return rows, None
    from .elementwise import where

    keep = (indices != pad).reshape(indices.shape + (1,) * (rows.ndim - indices.ndim))
    return where(keep, rows, 0.0), None


EMBEDDING = register(OpDef(
    "embedding", forward=_embedding_forward, vjp=_embedding_vjp, attrs=("padding_idx",), smooth=True,
    needs_input_values=False,
    infer=lambda w, idx, padding_idx: Spec(w.dtype, tuple(idx.shape) + tuple(w.shape[1:])),
    doc="weight[indices]: rows of a table; padding_idx rows get no gradient."))
EMBEDDING_BACKWARD = register(OpDef(
    "embedding_backward", forward=_embedding_backward_forward, vjp=_embedding_backward_vjp,
    attrs=("num_weights", "padding_idx"), smooth=True, exportable=False, needs_input_values=False,
    infer=lambda g, idx, num_weights, padding_idx: Spec(g.dtype, (num_weights,) + tuple(g.shape[len(idx.shape):])),
    doc="The adjoint of embedding: rows of g summed into a (num_weights, ...) table at indices."))


def embedding(input, weight, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False):
    """Look up rows of `weight` (num_embeddings, dim) at the integer `input` indices."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise OpError("embedding", "max_norm, scale_grad_by_freq and sparse are not supported")
    if weight.ndim != 2:
        raise OpError("embedding", f"weight must be 2-d (num_embeddings, embedding_dim), got shape {weight.shape}")
    if padding_idx is not None:
        if not -weight.shape[0] <= padding_idx < weight.shape[0]:
            raise OpError("embedding", f"padding_idx {padding_idx} is out of range for {weight.shape[0]} rows")
        padding_idx %= weight.shape[0]
    return apply(EMBEDDING, (weight, input), {"padding_idx": padding_idx})


# ---- composites --------------------------------------------------------------------------------------
def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p), using the default
    generator; the identity when not training (so traced and exported graphs never see it)."""
    if not 0.0 <= p <= 1.0:
        raise OpError("dropout", f"probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    from ..backend import to_device
    from ..random import default_generator
    from ..tensor import Tensor

    keep = default_generator.np.random(input.shape) >= p
    scale = keep.astype(input.dtype.np) * (0.0 if p == 1.0 else 1.0 / (1.0 - p))
    return input * Tensor._wrap(to_device(scale, input.device.type))


def _causal_mask(length: int, source: int, like):
    from ..creation import arange

    rows = arange(length, device=like.device.type).reshape(length, 1)
    return rows >= arange(source, device=like.device.type).reshape(1, source)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None, enable_gqa: bool = False):
    """softmax(query @ key^T * scale + mask) @ value, as torch's math implementation: a bool mask
    keeps True positions, a float mask is added; is_causal keeps key j <= query i."""
    from .elementwise import where
    from .linalg import matmul

    if enable_gqa:
        raise OpError("scaled_dot_product_attention", "enable_gqa=True is not supported; repeat the key and "
                      "value heads to the query's head count instead")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise OpError("scaled_dot_product_attention", f"query {query.shape}, key {key.shape} and value "
                      f"{value.shape} do not fit: need E(query) == E(key) and S(key) == S(value)")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        scores = where(_causal_mask(query.shape[-2], key.shape[-2], query), scores, -math.inf)
    if attn_mask is not None:
        scores = where(attn_mask, scores, -math.inf) if attn_mask.dtype is _dt.bool_ else scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)


def _norm(input, p: float, dim: int):
    """The p-norm along `dim`, kept as a size-1 dim."""
    from .elementwise import abs, sqrt

    if p == 2:
        return sqrt((input * input).sum(dim, keepdim=True))
    return (abs(input) ** p).sum(dim, keepdim=True) ** (1.0 / p)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    """input / max(||input||_p, eps) along `dim` (torch.nn.functional.normalize)."""
    from .elementwise import clamp

    if out is not None:
        raise OpError("normalize", "out= is not supported; use the returned tensor")
    return input / clamp(_norm(input, p, dim), min=eps)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """Cosine of the angle between x1 and x2 along `dim` (broadcasting), each norm at least eps."""
    return (normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps)).sum(dim)
