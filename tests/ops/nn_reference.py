"""Naive NumPy references for the NN ops: loops written for clarity, independent of the kernels."""
from __future__ import annotations

import math

import numpy as np


def conv2d(x, w, b=None, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """Direct convolution: one dot product per output element."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    ho = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(ho):
            for j in range(wo):
                rows = i * stride[0] + dilation[0] * np.arange(kh)
                cols = j * stride[1] + dilation[1] * np.arange(kw)
                patch = xp[:, g * cg:(g + 1) * cg][:, :, rows][:, :, :, cols]
                out[:, oc, i, j] = np.sum(patch * w[oc], axis=(1, 2, 3))
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def conv_transpose2d(y, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), groups=1,
                     dilation=(1, 1)):
    """Scatter form: every input pixel adds a weighted copy of the kernel to the output."""
    n, c, h, wd = y.shape
    _, og, kh, kw = w.shape
    cg = c // groups
    full = ((h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0],
            (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1])
    out = np.zeros((n, og * groups) + full)
    for ic in range(c):
        g = ic // cg
        for i in range(h):
            for j in range(wd):
                for ki in range(kh):
                    for kj in range(kw):
                        r, s = i * stride[0] + ki * dilation[0], j * stride[1] + kj * dilation[1]
                        out[:, g * og:(g + 1) * og, r, s] += y[:, ic, i, j, None] * w[ic, :, ki, kj]
    out = out[:, :, padding[0]:full[0] - padding[0], padding[1]:full[1] - padding[1]]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax(x, dim):
    return np.log(softmax(x, dim))


def pool_out_size(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def max_pool2d(x, k, s, p, d=(1, 1), ceil_mode=False):
    """Values and flat (per-plane) argmax indices, scanning each window in row-major order."""
    n, c, h, w = x.shape
    ho, wo = (pool_out_size(h, k[0], s[0], p[0], d[0], ceil_mode), pool_out_size(w, k[1], s[1], p[1], d[1], ceil_mode))
    vals, idx = np.full((n, c, ho, wo), -np.inf), np.zeros((n, c, ho, wo), dtype=np.int64)
    for i in range(ho):
        for j in range(wo):
            for ki in range(k[0]):
                for kj in range(k[1]):
                    r, q = i * s[0] - p[0] + ki * d[0], j * s[1] - p[1] + kj * d[1]
                    if 0 <= r < h and 0 <= q < w:
                        better = x[:, :, r, q] > vals[:, :, i, j]
                        vals[:, :, i, j] = np.where(better, x[:, :, r, q], vals[:, :, i, j])
                        idx[:, :, i, j] = np.where(better, r * w + q, idx[:, :, i, j])
    return vals, idx


def avg_pool2d(x, k, s, p, ceil_mode=False, count_include_pad=True):
    n, c, h, w = x.shape
    ho, wo = pool_out_size(h, k[0], s[0], p[0], 1, ceil_mode), pool_out_size(w, k[1], s[1], p[1], 1, ceil_mode)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, q0 = i * s[0] - p[0], j * s[1] - p[1]
            r1, q1 = min(r0 + k[0], h + p[0]), min(q0 + k[1], w + p[1])
            count = (r1 - r0) * (q1 - q0)
            r0c, q0c, r1c, q1c = max(r0, 0), max(q0, 0), min(r1, h), min(q1, w)
            if not count_include_pad:
                count = (r1c - r0c) * (q1c - q0c)
            out[:, :, i, j] = x[:, :, r0c:r1c, q0c:q1c].sum(axis=(2, 3)) / count
    return out


def adaptive_avg_pool2d(x, out_hw):
    n, c, h, w = x.shape
    out = np.zeros((n, c) + tuple(out_hw))
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            r0, r1 = (i * h) // out_hw[0], -(-((i + 1) * h) // out_hw[0])
            q0, q1 = (j * w) // out_hw[1], -(-((j + 1) * w) // out_hw[1])
            out[:, :, i, j] = x[:, :, r0:r1, q0:q1].mean(axis=(2, 3))
    return out


def normalize(x, axes, eps):
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    """Loop over samples: loss_i = -weight[t_i] * logp[i, t_i] (0 where t_i == ignore_index)."""
    weight = np.ones(logp.shape[1]) if weight is None else weight
    losses, weights = [], []
    for i, t in enumerate(target):
        w = 0.0 if t == ignore_index else weight[t]
        losses.append(0.0 if t == ignore_index else -w * logp[i, t])
        weights.append(w)
    losses = np.array(losses)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / sum(weights)


def attention(q, k, v, mask=None, causal=False, scale=None):
    """softmax(q k^T * scale + mask) v, one (batch, head) at a time."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    out = np.zeros(q.shape[:-1] + v.shape[-1:])
    if mask is not None:
        mask = np.broadcast_to(mask, q.shape[:-1] + k.shape[-2:-1])
    for idx in np.ndindex(q.shape[:-2]):
        s = q[idx] @ k[idx].T * scale
        if causal:
            s = np.where(np.tril(np.ones(s.shape, dtype=bool)), s, -np.inf)
        if mask is not None:
            s = np.where(mask[idx], s, -np.inf) if mask.dtype == bool else s + mask[idx]
        out[idx] = softmax(s, -1) @ v[idx]
    return out


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """nll_loss of log_softmax, mixed with the uniform-target loss as PyTorch defines it."""
    logp = log_softmax(logits, 1)
    loss = nll_loss(logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return loss
    w = np.ones(logp.shape[1]) if weight is None else weight
    valid = target != ignore_index
    smooth = -(logp * w).sum(1) * valid
    if reduction == "mean":
        smooth = smooth.sum() / w[target[valid]].sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * loss + label_smoothing / logp.shape[1] * smooth


def bce_with_logits(x, y, weight=None, pos_weight=None):
    """-[pos_weight * y * log(sigmoid(x)) + (1 - y) * log(1 - sigmoid(x))] * weight, elementwise."""
    p = 1 / (1 + np.exp(-x))
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss if weight is None else loss * weight
