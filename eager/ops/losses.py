"""Loss functions, all composites of registry primitives (log_softmax, one_hot, softplus, ...),
so they need no kernels or VJPs of their own and differentiate to any order."""
from __future__ import annotations

from ..errors import OpError
from .elementwise import abs, clamp, exp, log, softplus, where
from .nn import log_softmax, one_hot

_REDUCTIONS = ("none", "mean", "sum")


def _reduce(op: str, loss, reduction: str):
    if reduction not in _REDUCTIONS:
        raise OpError(op, f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _check_same_shape(op: str, input, target) -> None:
    if tuple(input.shape) != tuple(target.shape):
        raise OpError(op, f"input of shape {input.shape} and target of shape {target.shape} differ; "
                      "give them the same shape")


def _classes_last(input):
    """(N, C, d1, ...) -> (N, d1, ..., C); (N, C) and (C,) unchanged."""
    if input.ndim <= 2:
        return input
    return input.permute(0, *range(2, input.ndim), 1)


def _check_class_target(op: str, input, target, ignore_index: int) -> None:
    batch = (tuple(input.shape[:1]) + tuple(input.shape[2:])) if input.ndim > 1 else ()
    if tuple(target.shape) != batch:
        raise OpError(op, f"input of shape {input.shape} needs a target of shape {batch}, got {target.shape}")
    if target.dtype.category != 1:
        raise OpError(op, f"class-index targets must be integers, got {target.dtype.name}")
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    valid = target.data[target.data != ignore_index]
    if valid.size and (int(valid.min()) < 0 or int(valid.max()) >= classes):
        bad = int(valid.max()) if int(valid.max()) >= classes else int(valid.min())
        raise OpError(op, f"target {bad} is out of bounds for {classes} classes")


def _picked(input, target, weight, ignore_index: int):
    """(per-sample -weight[t] * input[t], per-sample weight[t]) with 0 where t == ignore_index."""
    scores = _classes_last(input)
    classes = scores.shape[-1]
    valid = target != ignore_index
    hot = one_hot(where(valid, target, 0).long(), classes).to(input.dtype)
    sample_weight = valid.to(input.dtype)
    if weight is not None:
        sample_weight = sample_weight * (hot @ weight)
    return -(scores * hot).sum(-1) * sample_weight, sample_weight


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean"):
    """Negative log-likelihood of class indices `target` under log-probabilities `input`
    (N, C) or (N, C, d1, ...); the mean divides by the summed weights of counted targets."""
    _check_class_target("nll_loss", input, target, ignore_index)
    loss, sample_weight = _picked(input, target, weight, ignore_index)
    if reduction == "mean":
        return loss.sum() / sample_weight.sum()
    return _reduce("nll_loss", loss, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    """log_softmax over the class dim, then nll_loss (class indices) or -sum(target * logp)
    (class probabilities, same shape as input); label_smoothing mixes in the uniform distribution."""
    class_dim = 0 if input.ndim == 1 else 1
    logp = log_softmax(input, class_dim)
    classes = input.shape[class_dim]
    if target.dtype.is_floating_point:
        return _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, class_dim)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return loss
    per_class = _classes_last(logp) if weight is None else _classes_last(logp) * weight
    smooth = -per_class.sum(-1) * (target != ignore_index).to(logp.dtype)
    if reduction == "mean":
        _, sample_weight = _picked(logp, target, weight, ignore_index)
        smooth = smooth.sum() / sample_weight.sum()
    else:
        smooth = _reduce("cross_entropy", smooth, reduction)
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def _soft_cross_entropy(logp, target, weight, reduction, label_smoothing, class_dim):
    _check_same_shape("cross_entropy", logp, target)
    classes = logp.shape[class_dim]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = logp * target
    if weight is not None:
        terms = terms * weight.reshape((classes,) + (1,) * (logp.ndim - class_dim - 1))
    loss = -terms.sum(class_dim)
    if reduction == "mean" and logp.ndim > 1:
        return loss.sum() / (logp.numel() // classes)
    return _reduce("cross_entropy", loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Mean (or sum, or elementwise) squared error."""
    diff = input - target
    return _reduce("mse_loss", diff * diff, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Mean (or sum, or elementwise) absolute error."""
    return _reduce("l1_loss", abs(input - target), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
    """Squared error / (2 beta) below beta, absolute error - beta / 2 above."""
    diff = abs(input - target)
    if beta == 0.0:
        return _reduce("smooth_l1_loss", diff, reduction)
    return _reduce("smooth_l1_loss", where(diff < beta, diff * diff * (0.5 / beta), diff - 0.5 * beta), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """Squared error / 2 below delta, delta * (absolute error - delta / 2) above."""
    diff = abs(input - target)
    return _reduce("huber_loss", where(diff < delta, diff * diff * 0.5, (diff - 0.5 * delta) * delta), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """Binary cross-entropy of sigmoid(input) without forming the sigmoid:
    (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)."""
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    log_weight = 1.0 if pos_weight is None else (pos_weight - 1) * target + 1
    loss = (1 - target) * input + log_weight * softplus(-input)
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy_with_logits", loss, reduction)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
    """-(y log p + (1 - y) log(1 - p)), each log clamped at -100 as PyTorch does."""
    _check_same_shape("binary_cross_entropy", input, target)
    loss = -(target * clamp(log(input), min=-100) + (1 - target) * clamp(log(1 - input), min=-100))
    if weight is not None:
        loss = loss * weight
    return _reduce("binary_cross_entropy", loss, reduction)




def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
    """KL(target || exp(input)) pointwise for log-probabilities `input`: target * (log target - input)
    (0 where target is 0); reduction "batchmean" divides the sum by the batch size, as the maths wants."""
    if log_target:
        loss = exp(target) * (target - input)
    else:
        positive = target > 0
        loss = target * (log(where(positive, target, 1.0)) - input)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce("kl_div", loss, reduction)


__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss", "kl_div",
           "l1_loss", "mse_loss", "nll_loss", "smooth_l1_loss"]
