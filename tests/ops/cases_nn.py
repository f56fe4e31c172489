"""Op test rows for the NN ops (eager.nn.functional): convolution, pooling, normalization,
softmax, losses, embedding, attention. References are the naive loops of `nn_reference.py`."""
from __future__ import annotations

import numpy as np

from . import nn_reference as R
from .case import Case


def F(m):
    return m.nn.functional


CASES: list[Case] = [
    # ---- convolution ----
    Case("conv2d", lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1),
         lambda x, w, b: R.conv2d(x, w, b, padding=((1, 1), (1, 1))), [(2, 3, 5, 4), (4, 3, 3, 3), (4,)],
         gradgrad=True),
    Case("conv2d", lambda m, x, w: F(m).conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
         lambda x, w: R.conv2d(x, w, stride=(2, 1), padding=((1, 1), (2, 2)), dilation=(1, 2), groups=2),
         [(2, 4, 6, 7), (6, 2, 3, 2)], id="strided-dilated-grouped", gradgrad=True),
    Case("conv2d", lambda m, x, w: F(m).conv2d(x, w, padding="same", dilation=(2, 1)),
         lambda x, w: R.conv2d(x, w, padding=((1, 1), (1, 2)), dilation=(2, 1)), [(1, 2, 5, 5), (3, 2, 2, 4)],
         id="same-even-kernel"),
    Case("conv2d", lambda m, x, w: F(m).conv2d(x, w, padding="valid"), lambda x, w: R.conv2d(x[None], w)[0],
         [(2, 4, 4), (3, 2, 2, 2)], id="unbatched-valid"),
    Case("conv2d", lambda m, x, w, b: F(m).conv1d(x, w, b, stride=2, padding=1, dilation=2),
         lambda x, w, b: R.conv2d(x[:, :, None], w[:, :, None], b, stride=(1, 2), padding=((0, 0), (1, 1)),
                                  dilation=(1, 2))[:, :, 0], [(2, 3, 9), (2, 3, 3), (2,)], id="conv1d"),
    Case("conv2d", lambda m, x, w: F(m).conv1d(x, w, padding="same", groups=3),
         lambda x, w: R.conv2d(x[:, :, None], w[:, :, None], padding=((0, 0), (1, 1)), groups=3)[:, :, 0],
         [(2, 3, 6), (6, 1, 3)], id="conv1d-same-depthwise"),
    Case("conv_transpose2d", lambda m, y, w, b: F(m).conv_transpose2d(y, w, b, stride=2, padding=1, output_padding=1),
         lambda y, w, b: R.conv_transpose2d(y, w, b, stride=(2, 2), padding=(1, 1), output_padding=(1, 1)),
         [(2, 3, 3, 4), (3, 2, 3, 3), (2,)], gradgrad=True),
    Case("conv_transpose2d",
         lambda m, y, w: F(m).conv_transpose2d(y, w, stride=(1, 3), padding=(0, 1), output_padding=(0, 2),
                                               groups=2, dilation=(2, 1)),
         lambda y, w: R.conv_transpose2d(y, w, stride=(1, 3), padding=(0, 1), output_padding=(0, 2), groups=2,
                                         dilation=(2, 1)), [(1, 4, 3, 3), (4, 3, 2, 3)], id="grouped-dilated"),
    Case("conv_transpose2d",
         lambda m, y, w, b: F(m).conv_transpose2d(y, w, b, padding=(2, 0), output_padding=(1, 0), groups=2, dilation=2),
         lambda y, w, b: R.conv_transpose2d(y, w, b, padding=(2, 0), output_padding=(1, 0), groups=2, dilation=(2, 2)),
         [(2, 4, 3, 4), (4, 1, 3, 2), (2,)], id="stride-1-as-flipped-conv", gradgrad=True),
]


def _weight_grad(m, x, g):
    """conv2d_weight is reached through the gradient of conv2d with respect to its weight."""
    w = m.zeros((g.shape[1], x.shape[1], 3, 2), dtype=x.dtype, requires_grad=True)
    out = F(m).conv2d(x, w, stride=(2, 1), padding=1)
    return m.autograd.grad(out, w, g, create_graph=True)[0]


CASES.append(Case("conv2d_weight", _weight_grad,
                  lambda x, g: _weight_grad_reference(x, g), [(2, 3, 5, 4), (2, 4, 3, 5)], gradgrad=True))


def _weight_grad_reference(x, g):
    """sum over batch and positions of g * input patch, by loops."""
    out = np.zeros((g.shape[1], x.shape[1], 3, 2))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            patch = xp[:, :, 2 * i:2 * i + 3, j:j + 2]
            out += (g[:, :, i, j][:, :, None, None, None] * patch[:, None]).sum(0)
    return out


def _classes(n, c, ignore=None):
    """Logits (n, c) and int64 class targets, one of them `ignore` when given."""
    def make(rng):
        target = rng.integers(0, c, n)
        if ignore is not None:
            target[1] = ignore
        return [rng.standard_normal((n, c)), target]
    return make


def _with_weight(make, c):
    return lambda rng: make(rng) + [rng.uniform(0.5, 2.0, c)]


def _probabilities(*shapes):
    return lambda rng: [rng.uniform(0.05, 0.95, s) for s in shapes]


CASES += [
    # ---- softmax family ----
    Case("softmax", lambda m, x: F(m).softmax(x, 1), lambda x: R.softmax(x, 1), [(3, 4, 2)], gradgrad=True),
    Case("softmax", lambda m, x: x.softmax(-1), lambda x: R.softmax(x, -1), [], id="large-logits",
         make=lambda r: [r.standard_normal((2, 5)) * 1000]),
    Case("log_softmax", lambda m, x: F(m).log_softmax(x, 0), lambda x: R.log_softmax(x, 0), [(4, 3)],
         gradgrad=True),
    Case("log_softmax", lambda m, x: x.log_softmax(-1), lambda x: x - x.max(-1, keepdims=True) - np.log(
        np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)), [], id="large-logits",
         make=lambda r: [r.standard_normal((2, 5)) * 1000]),
    # ---- losses (composites) ----
    Case("cross_entropy", lambda m, x, t: F(m).cross_entropy(x, t), lambda x, t: R.cross_entropy(x, t), [],
         make=_classes(4, 5), gradgrad=True),
    Case("cross_entropy", lambda m, x, t, w: F(m).cross_entropy(x, t, w, ignore_index=2, label_smoothing=0.2),
         lambda x, t, w: R.cross_entropy(x, t, w, 2, "mean", 0.2), [], make=_with_weight(_classes(5, 4, 2), 4),
         grad_inputs=(0,), id="weight-ignore-smoothing"),
    Case("cross_entropy", lambda m, x, t: F(m).cross_entropy(x, t, reduction="none", label_smoothing=0.1),
         lambda x, t: R.cross_entropy(x, t, None, -100, "none", 0.1), [], make=_classes(5, 3, -100),
         id="none-ignored"),
    Case("cross_entropy", lambda m, x, t: F(m).cross_entropy(x, t, reduction="sum"),
         lambda x, t: R.cross_entropy(x.transpose(0, 2, 1).reshape(-1, 3), t.reshape(-1), reduction="sum"), [],
         make=lambda r: [r.standard_normal((2, 3, 4)), r.integers(0, 3, (2, 4))], id="spatial-sum"),
    Case("cross_entropy", lambda m, x, p: F(m).cross_entropy(x, p, label_smoothing=0.1),
         lambda x, p: -(R.log_softmax(x, 1) * (p * 0.9 + 0.1 / 4)).sum(1).mean(), [(3, 4)],
         make=lambda r: [r.standard_normal((3, 4)), R.softmax(r.standard_normal((3, 4)), 1)], grad_inputs=(0,),
         id="probabilities"),
    Case("nll_loss", lambda m, x, t, w: F(m).nll_loss(x, t, w, ignore_index=0),
         lambda x, t, w: R.nll_loss(x, t, w, 0), [], make=_with_weight(_classes(6, 4, 0), 4), grad_inputs=(0,)),
    Case("nll_loss", lambda m, x, t: F(m).nll_loss(x, t, reduction="none"),
         lambda x, t: R.nll_loss(x, t, reduction="none"), [], make=_classes(3, 5), id="none"),
    Case("mse_loss", lambda m, x, y: F(m).mse_loss(x, y), lambda x, y: ((x - y) ** 2).mean(), [(3, 4), (3, 4)],
         gradgrad=True),
    Case("l1_loss", lambda m, x, y: F(m).l1_loss(x, y, reduction="sum"), lambda x, y: np.abs(x - y).sum(),
         [(3, 4), (3, 4)]),
    Case("smooth_l1_loss", lambda m, x, y: F(m).smooth_l1_loss(x, y, reduction="none", beta=0.5),
         lambda x, y: np.where(np.abs(x - y) < 0.5, (x - y) ** 2, np.abs(x - y) - 0.25), [(4, 5), (4, 5)]),
    Case("huber_loss", lambda m, x, y: F(m).huber_loss(x, y, delta=0.7),
         lambda x, y: np.where(np.abs(x - y) < 0.7, 0.5 * (x - y) ** 2, 0.7 * (np.abs(x - y) - 0.35)).mean(),
         [(4, 5), (4, 5)]),
    Case("binary_cross_entropy_with_logits", lambda m, x, y: F(m).binary_cross_entropy_with_logits(x, y),
         lambda x, y: R.bce_with_logits(x, y).mean(), [], make=lambda r: [r.standard_normal((3, 4)) * 3,
                                                                          r.uniform(0, 1, (3, 4))], gradgrad=True),
    Case("binary_cross_entropy_with_logits",
         lambda m, x, y, w, pw: F(m).binary_cross_entropy_with_logits(x, y, w, reduction="sum", pos_weight=pw),
         lambda x, y, w, pw: R.bce_with_logits(x, y, w, pw).sum(), [],
         make=lambda r: [r.standard_normal((3, 4)), r.integers(0, 2, (3, 4)) * 1.0, r.uniform(0.5, 2, (4,)),
                         r.uniform(0.5, 3, (4,))], grad_inputs=(0,), id="weights"),
    Case("binary_cross_entropy", lambda m, p, y: F(m).binary_cross_entropy(p, y),
         lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(), [], make=_probabilities((3, 4), (3, 4)),
         grad_inputs=(0,)),
]


def _batch_norm_train(m, x, w, b):
    return F(m).batch_norm(x, m.zeros(3, dtype=x.dtype), m.ones(3, dtype=x.dtype), w, b, training=True)


def _running_stats(m, x):
    """The buffers after two training steps with momentum 0.3 (the variance unbiased)."""
    mean, var = m.zeros(3, dtype=x.dtype), m.ones(3, dtype=x.dtype)
    for _ in range(2):
        F(m).batch_norm(x, mean, var, training=True, momentum=0.3)
    return mean, var


def _running_stats_reference(x):
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(2):
        mean = 0.7 * mean + 0.3 * x.mean((0, 2))
        var = 0.7 * var + 0.3 * x.var((0, 2), ddof=1)
    return mean, var


def _channel(v):
    return v.reshape(1, -1, 1, 1)


CASES += [
    # ---- normalization ----
    Case("batch_norm", _batch_norm_train, lambda x, w, b: R.normalize(x, (0, 2, 3), 1e-5) * _channel(w) + _channel(b),
         [(4, 3, 2, 3), (3,), (3,)], gradgrad=True, id="training"),
    Case("batch_norm", _running_stats, _running_stats_reference, [(5, 3, 4)], grad=False, id="running-stats"),
    Case("batch_norm", lambda m, x, mu, var, w, b: F(m).batch_norm(x, mu, var, w, b, eps=1e-3),
         lambda x, mu, var, w, b: (x - _channel(mu)) / np.sqrt(_channel(var) + 1e-3) * _channel(w) + _channel(b), [],
         make=lambda r: [r.standard_normal((2, 3, 2, 2)), r.standard_normal(3), r.uniform(0.5, 2, 3),
                         r.standard_normal(3), r.standard_normal(3)], id="eval", gradgrad=True, grad_inputs=(0, 3, 4)),
    # PyTorch refuses gradients for the running statistics; ours flow (training mode relies on it)
    Case("batch_norm", lambda m, x, mu, var: F(m).batch_norm(x, mu, var),
         lambda x, mu, var: (x - mu[:, None]) / np.sqrt(var[:, None] + 1e-5), [],
         make=lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal(3), r.uniform(0.5, 2, 3)],
         torch=False, id="statistics-gradients"),
    Case("layer_norm", lambda m, x, w, b: F(m).layer_norm(x, (4, 5), w, b),
         lambda x, w, b: R.normalize(x, (1, 2), 1e-5) * w + b, [(3, 4, 5), (4, 5), (4, 5)], gradgrad=True),
    Case("layer_norm", lambda m, x: F(m).layer_norm(x, (6,), eps=1e-2), lambda x: R.normalize(x, -1, 1e-2),
         [(2, 3, 6)], id="no-affine"),
    Case("group_norm", lambda m, x, w, b: F(m).group_norm(x, 3, w, b),
         lambda x, w, b: R.normalize(x.reshape(2, 3, -1), -1, 1e-5).reshape(x.shape) * _channel(w) + _channel(b),
         [(2, 6, 2, 3), (6,), (6,)], gradgrad=True),
    # ---- pooling ----
    Case("max_pool2d", lambda m, x: F(m).max_pool2d(x, 2, return_indices=True),
         lambda x: R.max_pool2d(x, (2, 2), (2, 2), (0, 0)), [(2, 3, 4, 6)]),
    Case("max_pool2d", lambda m, x: F(m).max_pool2d(x, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2),
                                                     ceil_mode=True, return_indices=True),
         lambda x: R.max_pool2d(x, (3, 2), (2, 1), (1, 1), (1, 2), ceil_mode=True), [(2, 2, 6, 5)],
         id="padded-dilated-ceil"),
    Case("max_pool2d", lambda m, x: F(m).max_pool2d(x, 3, 2, 1), lambda x: R.max_pool2d(x[None], (3, 3), (2, 2),
                                                                                          (1, 1))[0][0],
         [(2, 5, 5)], id="unbatched-overlapping"),
    Case("avg_pool2d", lambda m, x: F(m).avg_pool2d(x, 2), lambda x: R.avg_pool2d(x, (2, 2), (2, 2), (0, 0)),
         [(2, 3, 4, 6)]),
    Case("avg_pool2d", lambda m, x: F(m).avg_pool2d(x, 3, 2, 1, ceil_mode=True),
         lambda x: R.avg_pool2d(x, (3, 3), (2, 2), (1, 1), ceil_mode=True), [(1, 2, 6, 5)], id="ceil-include-pad"),
    Case("avg_pool2d", lambda m, x: F(m).avg_pool2d(x, (3, 2), (2, 3), (1, 1), ceil_mode=True,
                                                     count_include_pad=False),
         lambda x: R.avg_pool2d(x, (3, 2), (2, 3), (1, 1), ceil_mode=True, count_include_pad=False), [(2, 1, 6, 7)],
         id="ceil-exclude-pad"),
    Case("avg_pool2d", lambda m, x: F(m).adaptive_avg_pool2d(x, (2, 3)), lambda x: R.adaptive_avg_pool2d(x, (2, 3)),
         [(2, 3, 4, 6)], id="adaptive-divisible"),
    Case("avg_pool2d", lambda m, x: F(m).adaptive_avg_pool2d(x, 1), lambda x: x.mean((2, 3), keepdims=True),
         [(2, 3, 5, 7)], id="adaptive-global"),
    Case("matmul", lambda m, x: F(m).adaptive_avg_pool2d(x, (3, None)),
         lambda x: R.adaptive_avg_pool2d(x, (3, 7)), [(2, 2, 5, 7)], id="adaptive-overlapping-bins"),
]


def _seeded_dropout(m, x):
    m.manual_seed(7)
    return F(m).dropout(x, 0.4)


def _dropout_reference(x):
    """eager draws the keep mask from its default generator (PCG64 seeded by manual_seed)."""
    keep = np.random.default_rng(7).random(x.shape) >= 0.4
    return x * keep / 0.6


def _embedding_grad(m, g, idx):
    """embedding_backward is the weight gradient of embedding; differentiate it once more."""
    w = m.zeros((5, g.shape[-1]), dtype=g.dtype, requires_grad=True)
    return m.autograd.grad(F(m).embedding(idx, w, padding_idx=2), w, g, create_graph=True)[0]


def _embedding_grad_reference(g, idx):
    out = np.zeros((5, g.shape[-1]))
    for i, row in zip(idx.reshape(-1), g.reshape(-1, g.shape[-1])):
        out[i] += row
    out[2] = 0
    return out


def _indices(*shape, high=5):
    return lambda rng: [rng.standard_normal((high, 3)), rng.integers(0, high, shape)]


def _attention_inputs(mask=None):
    def make(rng):
        qkv = [rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))]
        if mask == "bool":
            qkv.append(np.tril(np.ones((3, 5), dtype=bool), 1))
        elif mask == "float":
            qkv.append(rng.standard_normal((2, 3, 5)))
        return qkv
    return make


CASES += [
    # ---- embedding, one_hot, dropout ----
    Case("embedding", lambda m, w, idx: F(m).embedding(idx, w), lambda w, idx: w[idx], [],
         make=_indices(2, 4)),
    Case("embedding_backward", _embedding_grad, _embedding_grad_reference, [],
         make=lambda r: [r.standard_normal((2, 4, 3)), r.integers(0, 5, (2, 4))]),
    Case("one_hot", lambda m, t: F(m).one_hot(t, 4), lambda t: np.eye(4, dtype=np.int64)[t], [],
         make=lambda r: [r.integers(0, 4, (2, 3))], grad=False),
    Case("one_hot", lambda m, t: F(m).one_hot(t), lambda t: np.eye(t.max() + 1, dtype=np.int64)[t], [],
         make=lambda r: [np.array([0, 3, 1])], grad=False, id="infer-classes"),
    Case("dropout", _seeded_dropout, _dropout_reference, [(4, 5)], torch=False),
    Case("dropout", lambda m, x: F(m).dropout(x, 0.5, training=False), lambda x: x, [(3,)], id="eval"),
    # ---- attention (a composite of matmul, where, softmax) ----
    Case("scaled_dot_product_attention", lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v),
         R.attention, [], make=_attention_inputs(), gradgrad=True),
    Case("scaled_dot_product_attention",
         lambda m, q, k, v, mask: F(m).scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3),
         lambda q, k, v, mask: R.attention(q, k, v, mask, scale=0.3), [], make=_attention_inputs("bool"),
         id="bool-mask"),
    Case("scaled_dot_product_attention",
         lambda m, q, k, v, mask: F(m).scaled_dot_product_attention(q, k, v, attn_mask=mask),
         lambda q, k, v, mask: R.attention(q, k, v, mask), [], make=_attention_inputs("float"), id="float-mask"),
    Case("scaled_dot_product_attention",
         lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, is_causal=True),
         lambda q, k, v: R.attention(q, k, v, causal=True), [], make=_attention_inputs(), id="causal"),
]


CASES += [
    # ---- 1-d pooling over the 2-d primitives ----
    Case("max_pool2d", lambda m, x: F(m).max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True),
         lambda x: tuple(a[:, :, 0] for a in R.max_pool2d(x[:, :, None], (1, 3), (1, 2), (0, 1), ceil_mode=True)),
         [(2, 3, 8)], id="max_pool1d"),
    Case("avg_pool2d", lambda m, x: F(m).avg_pool1d(x, 4, 3, 2, count_include_pad=False),
         lambda x: R.avg_pool2d(x[:, :, None], (1, 4), (1, 3), (0, 2), count_include_pad=False)[:, :, 0],
         [(2, 3, 9)], id="avg_pool1d"),
    Case("matmul", lambda m, x: F(m).adaptive_avg_pool1d(x, 4),
         lambda x: R.adaptive_avg_pool2d(x[:, :, None], (1, 4))[:, :, 0], [(2, 3, 7)], id="adaptive_avg_pool1d"),
    # ---- distances and KL ----
    Case("kl_div", lambda m, x, t: F(m).kl_div(x, t, reduction="batchmean"),
         lambda x, t: (t * (np.log(t) - x)).sum() / x.shape[0], [],
         make=lambda r: [R.log_softmax(r.standard_normal((3, 4)), 1), R.softmax(r.standard_normal((3, 4)), 1)],
         gradgrad=True),
    Case("kl_div", lambda m, x, t: F(m).kl_div(x, t, reduction="none", log_target=True),
         lambda x, t: np.exp(t) * (t - x), [(3, 4), (3, 4)], id="log-target"),
    Case("kl_div", lambda m, x, t: F(m).kl_div(x, t, reduction="sum"),
         lambda x, t: (np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x).sum(), [],
         make=lambda r: [r.standard_normal((2, 3)), np.array([[0.0, 0.5, 0.5], [0.2, 0.8, 0.0]])],
         grad_inputs=(0,), id="zero-targets"),
    Case("normalize", lambda m, x: F(m).normalize(x, dim=-1), lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True),
         [(3, 4)], gradgrad=True),
    Case("normalize", lambda m, x: F(m).normalize(x, p=3.0, dim=0),
         lambda x: x / (np.abs(x) ** 3).sum(0, keepdims=True) ** (1 / 3), [(3, 4)], id="p3"),
    Case("cosine_similarity", lambda m, a, b: F(m).cosine_similarity(a, b),
         lambda a, b: (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)), [(4, 5), (1, 5)],
         gradgrad=True),
]
