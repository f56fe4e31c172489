"""`default_collate`: stack a list of samples into a batch (PyTorch's rules)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .. import dtypes as _dt
from ..backend import xp_of
from ..tensor import Tensor


def _stack_tensors(batch: list) -> Tensor:
    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) > 1:
        raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, got shapes {sorted(shapes)}")
    return Tensor._wrap(xp_of(batch[0].data).stack([t.data for t in batch]))


def default_collate(batch: list):
    """Tensors and arrays are stacked, numbers become a tensor (float64/int64/bool), dicts and
    sequences are collated field by field, strings stay a list."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OSUV":
            raise TypeError(f"default_collate: numpy arrays of dtype {elem.dtype} cannot become tensors")
        return Tensor._wrap(np.stack(batch).astype(_dt.from_numpy(elem.dtype).np, copy=False))
    if isinstance(elem, np.generic):
        return Tensor._wrap(np.asarray(batch).astype(_dt.from_numpy(elem.dtype).np, copy=False))
    if isinstance(elem, bool):
        return Tensor._wrap(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return Tensor._wrap(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        return Tensor._wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)  # keeps OrderedDict and friends
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        return [default_collate(list(samples)) for samples in zip(*batch)]
    raise TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem).__name__}")


def default_convert(sample):
    """Without batching (batch_size=None): NumPy arrays become tensors, containers recursively."""
    if isinstance(sample, np.ndarray) and sample.dtype.kind not in "OSUV":
        return Tensor._wrap(sample.astype(_dt.from_numpy(sample.dtype).np, copy=False))
    if isinstance(sample, Mapping):
        return {key: default_convert(value) for key, value in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(v) for v in sample))
    if isinstance(sample, (list, tuple)):
        return [default_convert(v) for v in sample]
    return sample
