"""Normalization: batch_norm and layer_norm primitives; group_norm and training-mode batch
statistics as composites.

`batch_norm` the primitive is the *inference form* (normalize with given per-channel mean and
variance): the C runtime's kernel and the conv+batchnorm folding pass need exactly that. In
training the functional computes the batch mean and variance with eager ops and feeds them in,
so gradients flow through the statistics by ordinary autograd.
"""
from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..errors import OpError
from .dispatch import apply
from .elementwise import rsqrt
from .registry import OpDef, register


def _channel_shape(ndim: int) -> tuple:
    """Broadcast shape of a per-channel (C,) vector against (N, C, *)."""
    return (1, -1) + (1,) * (ndim - 2)


def _not_channel_dims(ndim: int) -> tuple:
    return (0,) + tuple(range(2, ndim))


# ---- batch_norm (inference form) ------------------------------------------------------------------
def _batch_norm_forward(xp, x, mean, var, weight=None, bias=None, *, eps):
    shape = _channel_shape(x.ndim)
    scale = 1 / xp.sqrt(var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -mean * scale
    if bias is not None:
        shift = shift + bias
    return (x * scale.reshape(shape) + shift.reshape(shape)).astype(x.dtype, copy=False)


def _batch_norm_vjp(c, g):
    x, mean, var, weight, bias = c.inputs
    shape, dims = _channel_shape(x.ndim), _not_channel_dims(x.ndim)
    rstd = rsqrt(var + c.attrs["eps"])
    centered = x - mean.reshape(shape)
    g_hat = g if weight is None else g * weight.reshape(shape)  # gradient w.r.t. the normalized x
    gx = g_hat * rstd.reshape(shape)
    g_mean = -gx.sum(dims) if mean.requires_grad else None
    g_var = (g_hat * centered).sum(dims) * (-0.5 * rstd * rstd * rstd) if var.requires_grad else None
    g_weight = (g * centered).sum(dims) * rstd if weight is not None and weight.requires_grad else None
    g_bias = g.sum(dims) if bias is not None and bias.requires_grad else None
    return gx, g_mean, g_var, g_weight, g_bias


def _batch_norm_infer(x, mean, var, weight=None, bias=None, *, eps):
    channels = x.shape[1] if len(x.shape) > 1 else None
    for name, spec in (("running_mean", mean), ("running_var", var), ("weight", weight), ("bias", bias)):
        if spec is not None and isinstance(channels, int) and tuple(spec.shape) != (channels,):
            raise OpError("batch_norm", f"{name} of shape {tuple(spec.shape)} does not match input of shape "
                          f"{tuple(x.shape)} with {channels} channels")
    return x


BATCH_NORM = register(OpDef(
    "batch_norm", forward=_batch_norm_forward, vjp=_batch_norm_vjp, infer=_batch_norm_infer, attrs=("eps",),
    smooth=True, doc="(x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c] over (N, C, *)."))


def _update_running(buffer, value, momentum: float) -> None:
    """buffer = (1 - momentum) * buffer + momentum * value, in place (a training side effect)."""
    with no_grad():
        buffer.data *= 1 - momentum
        buffer.data += momentum * value.data.astype(buffer.data.dtype, copy=False)
        buffer._version[0] += 1


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalization over (N, C, *) as torch.nn.functional.batch_norm: in training, batch
    statistics (and running stats updated in place, the variance unbiased); otherwise the running ones."""
    if input.ndim < 2:
        raise OpError("batch_norm", f"expects an input of at least 2 dims (N, C, ...), got shape {input.shape}")
    if not training:
        if running_mean is None or running_var is None:
            raise OpError("batch_norm", "running_mean and running_var are needed when training=False")
        _batch_norm_infer(input, running_mean, running_var, weight, bias, eps=eps)
        return apply(BATCH_NORM, (input, running_mean, running_var, weight, bias), {"eps": float(eps)})
    dims = _not_channel_dims(input.ndim)
    count = input.numel() // input.shape[1]
    if count <= 1:
        raise OpError("batch_norm", f"expected more than 1 value per channel when training, got input of shape "
                      f"{input.shape}")
    mean = input.mean(dims)
    centered = input - mean.reshape(_channel_shape(input.ndim))
    var = (centered * centered).mean(dims)
    if running_mean is not None:
        _update_running(running_mean, mean, momentum)
    if running_var is not None:
        _update_running(running_var, var * (count / (count - 1)), momentum)
    _batch_norm_infer(input, mean, var, weight, bias, eps=eps)
    return apply(BATCH_NORM, (input, mean, var, weight, bias), {"eps": float(eps)})


# ---- layer_norm ---------------------------------------------------------------------------------
def _layer_norm_forward(xp, x, weight=None, bias=None, *, normalized_shape, eps):
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    out = centered / xp.sqrt((centered * centered).mean(axis=axes, keepdims=True) + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out.astype(x.dtype, copy=False)


def _layer_norm_vjp(c, g):
    x, weight, bias = c.inputs
    k = len(c.attrs["normalized_shape"])
    axes, lead = tuple(range(x.ndim - k, x.ndim)), tuple(range(x.ndim - k))
    centered = x - x.mean(axes, keepdim=True)
    rstd = rsqrt((centered * centered).mean(axes, keepdim=True) + c.attrs["eps"])
    x_hat = centered * rstd
    g_hat = g if weight is None else g * weight
    gx = rstd * (g_hat - g_hat.mean(axes, keepdim=True) - x_hat * (g_hat * x_hat).mean(axes, keepdim=True))
    g_weight = (g * x_hat).sum(lead) if weight is not None and weight.requires_grad else None
    g_bias = g.sum(lead) if bias is not None and bias.requires_grad else None
    return gx if x.requires_grad else None, g_weight, g_bias


def _layer_norm_infer(x, weight=None, bias=None, *, normalized_shape, eps):
    k = len(normalized_shape)
    tail = tuple(x.shape[len(x.shape) - k:]) if k else ()
    if len(x.shape) < k or any(isinstance(a, int) and a != b for a, b in zip(tail, normalized_shape)):
        raise OpError("layer_norm", f"input of shape {tuple(x.shape)} does not end in normalized_shape "
                      f"{tuple(normalized_shape)}")
    for name, spec in (("weight", weight), ("bias", bias)):
        if spec is not None and tuple(spec.shape) != tuple(normalized_shape):
            raise OpError("layer_norm", f"{name} of shape {tuple(spec.shape)} must equal normalized_shape "
                          f"{tuple(normalized_shape)}")
    return x


LAYER_NORM = register(OpDef(
    "layer_norm", forward=_layer_norm_forward, vjp=_layer_norm_vjp, infer=_layer_norm_infer,
    attrs=("normalized_shape", "eps"), smooth=True,
    doc="Normalize over the trailing normalized_shape dims, then scale by weight and add bias."))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Layer normalization over the trailing `normalized_shape` dims (torch.nn.functional.layer_norm)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(int(d) for d in normalized_shape)
    _layer_norm_infer(input, weight, bias, normalized_shape=shape, eps=eps)
    return apply(LAYER_NORM, (input, weight, bias), {"normalized_shape": shape, "eps": float(eps)})


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalize each of `num_groups` channel groups per sample (a layer_norm over the group),
    then scale and shift per channel."""
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise OpError("group_norm", f"input of shape {input.shape} has channels not divisible by "
                      f"num_groups={num_groups}")
    grouped = input.reshape(input.shape[0], num_groups, -1)
    out = layer_norm(grouped, grouped.shape[-1:], eps=eps).reshape(input.shape)
    shape = _channel_shape(input.ndim)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
