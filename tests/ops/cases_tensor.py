"""Op test rows for the tensor ops: reductions, shape ops, indexing, gather/scatter, pad."""
from __future__ import annotations

import numpy as np

from .case import Case


def _with_zeros(rng):
    x = rng.standard_normal((3, 4))
    x[0, 1] = 0.0  # one zero in a row
    x[2, 0] = x[2, 3] = 0.0  # two zeros in a row
    return [x]


def _distinct(*shape):
    """Values with no ties, so max/min/amax have one well-defined winner."""
    return lambda rng: [rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)]


def _set_slice(m, x, v):
    y = x * 1
    y[1:3, ::2] = v
    return y


def _set_mask(m, x, v):
    y = x * 1
    y[x > 0] = v
    return y


def _set_index(m, x, v, idx):
    y = x * 1
    y[idx] = v
    return y


def _iadd_slice(m, x, v):
    y = x * 1
    y[:, 1] += v
    return y


def _np_set(x, key, v):
    y = x.copy()
    y[key] = v
    return y


def _np_set_first_row(x, v, i):
    """x[0, :, i] = v as PyTorch reads it: the int first, then the index array."""
    y = x.copy()
    y[0][:, i] = v
    return y


def _index_ints(rng):
    return [rng.standard_normal((4, 3)), np.array([2, 0, 2])]


def _gather_inputs(rng):
    return [rng.standard_normal((3, 4)), rng.integers(0, 4, (3, 2))]


def _np_gather(x, idx):
    return np.take_along_axis(x, idx, axis=1)


def _scatter_inputs(rng, src_cols=2):
    # a permutation per row: no index written twice, so scatter is deterministic
    idx = np.stack([rng.permutation(4)[:2] for _ in range(3)])
    return [rng.standard_normal((3, 4)), idx, rng.standard_normal((3, src_cols))]


def _np_scatter(x, idx, src, add=False):
    out = x.copy()
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            if add:
                out[i, idx[i, j]] += src[i, j]
            else:
                out[i, idx[i, j]] = src[i, j]
    return out


def _logsumexp(a, axis):
    top = a.max(axis, keepdims=True)
    return (np.log(np.exp(a - top).sum(axis, keepdims=True)) + top).squeeze(axis)


CASES: list[Case] = [
    # ---- reductions ----
    Case("prod", lambda m, a: m.prod(a, 1), lambda a: a.prod(1), [(3, 4)], gradgrad=True),
    Case("prod", lambda m, a: a.prod(), lambda a: a.prod(), [(2, 3)], id="all"),
    Case("prod", lambda m, a: a.prod(1, keepdim=True), lambda a: a.prod(1, keepdims=True), [], make=_with_zeros,
         id="zeros"),
    Case("amax", lambda m, a: m.amax(a, (0, 2)), lambda a: a.max((0, 2)), [], make=_distinct(2, 3, 4)),
    Case("amax", lambda m, a: a.max(), lambda a: a.max(), [], make=_distinct(3, 4), id="max-all"),
    Case("amax", lambda m, a: m.amax(a, 1), lambda a: a.max(1), [],
         make=lambda r: [np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]])], id="ties-share-gradient"),
    Case("amin", lambda m, a: m.amin(a, -1, keepdim=True), lambda a: a.min(-1, keepdims=True), [],
         make=_distinct(3, 4)),
    Case("amin", lambda m, a: m.min(a), lambda a: a.min(), [], make=_distinct(5), id="min-all"),
    Case("argmax", lambda m, a: m.argmax(a, 1), lambda a: a.argmax(1), [(3, 5)], grad=False),
    Case("argmax", lambda m, a: a.argmax(), lambda a: a.argmax(), [(3, 5)], grad=False, id="flat"),
    Case("argmin", lambda m, a: m.argmin(a, 0, keepdim=True), lambda a: a.argmin(0)[None], [(3, 5)], grad=False),
    Case("gather", lambda m, a: m.max(a, 1), lambda a: (a.max(1), a.argmax(1)), [], make=_distinct(3, 4),
         id="max-dim"),
    Case("gather", lambda m, a: a.min(0, keepdim=True), lambda a: (a.min(0, keepdims=True),
                                                                  a.argmin(0)[None]), [],
         make=_distinct(3, 4), id="min-dim-keepdim"),
    Case("var", lambda m, a: m.var(a, 1), lambda a: a.var(1, ddof=1), [(3, 5)], gradgrad=True),
    Case("var", lambda m, a: a.var(unbiased=False), lambda a: a.var(), [(3, 5)], id="all-biased"),
    Case("var", lambda m, a: m.var(a, (0, 1), correction=0, keepdim=True), lambda a: a.var((0, 1), keepdims=True),
         [(2, 3, 2)], id="correction"),
    Case("var", lambda m, a: m.std(a, 0), lambda a: a.std(0, ddof=1), [(4, 3)], id="std", gradgrad=True),
    Case("logsumexp", lambda m, a: m.logsumexp(a, 1), lambda a: _logsumexp(a, 1), [(3, 4)], gradgrad=True),
    Case("logsumexp", lambda m, a: m.logsumexp(a * 1000, 0), lambda a: _logsumexp(a * 1000, 0), [(3, 2)],
         id="large-values", grad=False),
    Case("cumsum", lambda m, a: m.cumsum(a, 1), lambda a: a.cumsum(1), [(3, 4)], gradgrad=True),
    Case("cumsum", lambda m, a: m.cumsum(a > 0, 0), lambda a: (a > 0).cumsum(0), [(4, 2)], grad=False,
         id="bool-to-int64"),
    Case("any", lambda m, a: m.any(a > 1, 1), lambda a: (a > 1).any(1), [(3, 4)], grad=False),
    Case("any", lambda m, a: (a > 1).any(), lambda a: (a > 1).any(), [(3, 4)], grad=False, id="all-dims"),
    Case("all", lambda m, a: m.all(a > -1, 0, keepdim=True), lambda a: (a > -1).all(0, keepdims=True), [(3, 4)],
         grad=False),
    Case("argsort", lambda m, a: m.argsort(a, 1), lambda a: a.argsort(1, kind="stable"), [(3, 4)], grad=False),
    Case("argsort", lambda m, a: a.argsort(0, descending=True), lambda a: (-a).argsort(0, kind="stable"),
         [(4, 2)], grad=False, id="descending"),
    Case("gather", lambda m, a: m.sort(a, 0), lambda a: (np.sort(a, 0), a.argsort(0)), [], make=_distinct(3, 2),
         id="sort"),
    Case("gather", lambda m, a: a.topk(2, 1), lambda a: (-np.sort(-a, 1)[:, :2], (-a).argsort(1)[:, :2]), [],
         make=_distinct(3, 4), id="topk"),
    Case("gather", lambda m, a: m.topk(a, 1, 0, largest=False), lambda a: (a.min(0, keepdims=True),
                                                                       a.argmin(0)[None]), [],
         make=_distinct(3, 4), id="topk-smallest"),
    Case("sum", lambda m, a: m.norm(a), lambda a: np.sqrt((a * a).sum()), [(3, 4)], id="norm", gradgrad=True),
    Case("sum", lambda m, a: a.norm(1, dim=1), lambda a: np.abs(a).sum(1), [], make=lambda r: [
        r.uniform(0.2, 2, (3, 4)) * r.choice([-1.0, 1.0], (3, 4))], id="norm-1"),
    Case("sum", lambda m, a: a.norm(3, dim=0, keepdim=True),
         lambda a: (np.abs(a) ** 3).sum(0, keepdims=True) ** (1 / 3), [], make=lambda r: [r.uniform(0.2, 2, (3, 4))],
         id="norm-3"),
    Case("amax", lambda m, a: a.norm(float("inf"), dim=1), lambda a: np.abs(a).max(1), [], make=_distinct(3, 4),
         id="norm-inf"),
    Case("tril", lambda m, a: m.tril(a), np.tril, [(3, 4)], gradgrad=True),
    Case("tril", lambda m, a: a.tril(-1), lambda a: np.tril(a, -1), [(2, 3, 3)], id="batched-below"),
    Case("triu", lambda m, a: m.triu(a, 1), lambda a: np.triu(a, 1), [(4, 3)], gradgrad=True),
    Case("index", lambda m, a, b: m.masked_select(a, b > 0), lambda a, b: np.broadcast_to(a, (3, 4))[
        np.broadcast_to(b > 0, (3, 4))], [(1, 4), (3, 4)], grad_inputs=(0,), id="masked_select-broadcast"),
    # ---- shape ----
    Case("squeeze", lambda m, a: a.squeeze(), lambda a: a.squeeze(), [(2, 1, 3, 1)], gradgrad=True),
    Case("squeeze", lambda m, a: m.squeeze(a, -1), lambda a: a.squeeze(-1), [(2, 1, 3, 1)], id="dim"),
    Case("squeeze", lambda m, a: a.squeeze(0), lambda a: a, [(2, 3)], id="not-size-one"),
    Case("unsqueeze", lambda m, a: a.unsqueeze(-1), lambda a: a[..., None], [(2, 3)], gradgrad=True),
    Case("unsqueeze", lambda m, a: m.unsqueeze(a, 0), lambda a: a[None], [(3,)], id="front"),
    Case("repeat", lambda m, a: a.repeat(2, 3), lambda a: np.tile(a, (2, 3)), [(2, 3)], gradgrad=True),
    Case("repeat", lambda m, a: a.repeat(2, 1, 2), lambda a: np.tile(a, (2, 1, 2)), [(3, 2)], id="new-dims"),
    Case("cat", lambda m, a, b: m.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1), [(2, 3), (2, 2)],
         gradgrad=True),
    Case("cat", lambda m, a, b, c: m.cat((a, b, c)), lambda a, b, c: np.concatenate([a, b, c]),
         [(1, 2), (3, 2), (2, 2)], id="three"),
    Case("cat", lambda m, a, b: m.stack([a, b], 1), lambda a, b: np.stack([a, b], 1), [(2, 3), (2, 3)],
         id="stack"),
    Case("getitem", lambda m, a: m.split(a, 2, 1)[1], lambda a: a[:, 2:4], [(2, 5)], id="split"),
    Case("getitem", lambda m, a: m.split(a, [1, 3], 0)[1] * 2, lambda a: a[1:] * 2, [(4, 2)], id="split-sizes"),
    Case("getitem", lambda m, a: m.chunk(a, 3, -1)[2], lambda a: a[:, 4:], [(2, 5)], id="chunk"),
    Case("getitem", lambda m, a: a.narrow(0, 1, 2), lambda a: a[1:3], [(4, 2)], id="narrow"),
    Case("reshape", lambda m, a: a.unflatten(1, (2, -1)), lambda a: a.reshape(2, 2, 3), [(2, 6)], id="unflatten"),
    Case("permute", lambda m, a: m.movedim(a, (0, 1), (2, 0)), lambda a: np.moveaxis(a, (0, 1), (2, 0)),
         [(2, 3, 4)], id="movedim"),
    Case("cat", lambda m, a: m.roll(a, (1, -2), (0, 1)), lambda a: np.roll(a, (1, -2), (0, 1)), [(3, 4)],
         id="roll", gradgrad=True),
    Case("cat", lambda m, a: a.roll(5), lambda a: np.roll(a, 5), [(3, 4)], id="roll-flat"),
    Case("nonzero", lambda m, a: m.nonzero(a > 0), lambda a: np.argwhere(a > 0), [(3, 4)], grad=False),
    Case("flip", lambda m, a: m.flip(a, (0, 2)), lambda a: a[::-1, :, ::-1], [(2, 3, 2)], gradgrad=True),
    Case("clone", lambda m, a: a.clone(), lambda a: a, [(2, 3)], gradgrad=True),
    # ---- indexing ----
    Case("getitem", lambda m, a: a[1], lambda a: a[1], [(3, 4)], gradgrad=True),
    Case("getitem", lambda m, a: a[:, 1:3], lambda a: a[:, 1:3], [(3, 4)], id="slice"),
    Case("getitem", lambda m, a: a[-1, ::2], lambda a: a[-1, ::2], [(3, 5)], id="negative-int-step"),
    Case("getitem", lambda m, a: a[None, ..., 0], lambda a: a[None, ..., 0], [(2, 3, 4)], id="none-ellipsis"),
    Case("getitem", lambda m, a: a[1:10, -3:], lambda a: a[1:10, -3:], [(3, 5)], id="clipped-bounds"),
    Case("index", lambda m, a, i: a[i], lambda a, i: a[i], [], make=_index_ints, gradgrad=True),
    Case("index", lambda m, a: a[a > 0], lambda a: a[a > 0], [(3, 4)], id="mask"),
    Case("index", lambda m, a: a[[0, 2], 1:], lambda a: a[[0, 2], 1:], [(3, 4)], id="list-and-slice"),
    Case("index", lambda m, a, i: a[:, i], lambda a, i: a[:, i], [],
         make=lambda r: [r.standard_normal((2, 3)), np.array([[0, 2], [1, 1]])], id="tensor-after-slice"),
    Case("index", lambda m, a, i: a[1, :, i], lambda a, i: a[1][:, i], [],
         make=lambda r: [r.standard_normal((2, 3, 4)), np.array([3, 0, 3])], id="int-then-tensor-pytorch-order"),
    Case("index_put", lambda m, x, v, i: _set_index(m, x, v, (0, slice(None), i)),
         lambda x, v, i: _np_set_first_row(x, v, i), [],
         make=lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal((3, 2)), np.array([3, 1])],
         id="int-then-tensor-pytorch-order"),
    Case("index", lambda m, a: m.index_select(a, 1, m.tensor([2, 0])), lambda a: a[:, [2, 0]], [(3, 4)],
         id="index_select"),
    Case("index_put", _set_slice, lambda x, v: _np_set(x, (slice(1, 3), slice(None, None, 2)), v),
         [(4, 3), (2, 1)], gradgrad=True),
    Case("index_put", lambda m, x: _set_slice(m, x, 7.0), lambda x: _np_set(x, (slice(1, 3), slice(None, None, 2)),
                                                                             7.0), [(4, 3)], id="scalar"),
    Case("index_put", _set_mask, lambda x, v: _np_set(x, x > 0, v), [(3, 4), ()], id="mask"),
    Case("index_put", _set_index, lambda x, v, i: _np_set(x, i, v), [],
         make=lambda r: [r.standard_normal((4, 3)), r.standard_normal((2, 3)), np.array([3, 0])], id="tensor"),
    Case("index_put", _iadd_slice, lambda x, v: x + np.eye(x.shape[1])[1] * v[:, None], [(3, 4), (3,)],
         id="iadd-view"),
    Case("gather", lambda m, a, i: m.gather(a, 1, i), _np_gather, [], make=_gather_inputs, gradgrad=True),
    Case("gather", lambda m, a, i: a.gather(0, i), lambda a, i: np.take_along_axis(a, i, 0), [],
         make=lambda r: [r.standard_normal((3, 2)), r.integers(0, 3, (4, 2))], id="dim0-larger-index"),
    Case("scatter", lambda m, a, i, s: m.scatter(a, 1, i, s), _np_scatter, [], make=_scatter_inputs,
         gradgrad=True),
    Case("scatter", lambda m, a, i, s: m.scatter(a, 1, i, s), lambda a, i, s: _np_scatter(a, i, s[:, :2]), [],
         make=lambda r: _scatter_inputs(r, src_cols=3), id="src-larger-than-index", torch=False),
    Case("scatter", lambda m, a, i, s: a.scatter(1, i, 2.5), lambda a, i, s: _np_scatter(a, i, np.full(s.shape, 2.5)),
         [], make=_scatter_inputs, id="value", grad_inputs=(0,)),
    Case("scatter_add", lambda m, a, i, s: m.scatter_add(a, 1, i, s),
         lambda a, i, s: _np_scatter(a, i, s, add=True), [],
         make=lambda r: [r.standard_normal((3, 4)), r.integers(0, 4, (3, 5)), r.standard_normal((3, 5))],
         gradgrad=True),
    Case("where", lambda m, a: m.masked_fill(a, a > 0, -1.0), lambda a: np.where(a > 0, -1.0, a), [(3, 4)],
         id="masked_fill"),
    Case("pad", lambda m, a: m.nn.functional.pad(a, (1, 2)), lambda a: np.pad(a, [(0, 0), (1, 2)]), [(2, 3)],
         gradgrad=True),
    Case("pad", lambda m, a: m.nn.functional.pad(a, (1, 0, 2, 1), value=0.5),
         lambda a: np.pad(a, [(2, 1), (1, 0)], constant_values=0.5), [(2, 3)], id="two-dims-value"),
    Case("pad", lambda m, a: m.nn.functional.pad(a, (-1, 1)), lambda a: np.pad(a[:, 1:], [(0, 0), (0, 1)]), [(2, 3)],
         id="negative-crops"),
    Case("pad", lambda m, a: m.nn.functional.pad(a, (2, 1), mode="reflect"),
         lambda a: np.pad(a, [(0, 0), (0, 0), (2, 1)], mode="reflect"), [(1, 2, 4)], id="reflect", gradgrad=True),
    Case("pad", lambda m, a: m.nn.functional.pad(a, (1, 2, 2, 0), mode="replicate"),
         lambda a: np.pad(a, [(0, 0), (2, 0), (1, 2)], mode="edge"), [(1, 2, 3)], id="replicate"),
    Case("pad", lambda m, a: m.nn.functional.pad(a, (1, 2), mode="circular"),
         lambda a: np.pad(a, [(0, 0), (0, 0), (1, 2)], mode="wrap"), [(1, 2, 3)], id="circular"),
]
