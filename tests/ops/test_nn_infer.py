"""Shape rules (`infer`) of the NN ops keep symbolic dims and report mismatches; the attributes
the NN ops record are flat (the file format stores nothing nested). That every rule agrees with
its kernel on every op-table row is tests/ops/test_infer.py."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager.ops import REGISTRY, Spec
from eager.ops.dispatch import TRACERS

from ..recording_tracer import RecordingTracer
from .cases_nn import CASES as NN_CASES
from .test_ops import _tensors


def _flat(value) -> bool:
    """What the .esm format stores: None, a scalar, a string, a dtype, or a flat tuple of numbers."""
    if isinstance(value, (tuple, list)):
        return all(isinstance(v, (int, float)) for v in value)
    return value is None or isinstance(value, (bool, int, float, str, eager.dtype))


@pytest.mark.parametrize("case", NN_CASES, ids=[f"{c.op}-{c.id}" if c.id else c.op for c in NN_CASES])
def test_nn_op_attributes_are_flat(case):
    _, tensors = _tensors(case, np.random.default_rng(0), False)
    recorder = RecordingTracer()
    TRACERS.append(recorder)
    try:
        case.fn(eager, *tensors)
    finally:
        TRACERS.remove(recorder)
    for op, _, attrs, _ in recorder.calls:
        assert all(_flat(v) for v in attrs.values()), f"{op.name}: attributes {attrs} are not flat"


F32, I64 = eager.float32, eager.int64
GEOMETRY = {"stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}


def test_conv2d_keeps_symbolic_batch_and_same_padded_size():
    spec = REGISTRY["conv2d"].infer(Spec(F32, ("N", 3, "H", 28)), Spec(F32, (16, 3, 3, 3)), None, **GEOMETRY)
    assert spec == Spec(F32, ("N", 16, "H", 28))


def test_conv2d_strided_symbolic_size_is_unknown():
    spec = REGISTRY["conv2d"].infer(Spec(F32, ("N", 3, "H", 28)), Spec(F32, (16, 3, 3, 3)), None,
                                    **{**GEOMETRY, "stride": (2, 2)})
    assert spec == Spec(F32, ("N", 16, "?", 14))


def test_conv2d_infer_reports_channel_mismatch():
    with pytest.raises(eager.OpError, match=r"conv2d: input of shape \('N', 4, 8, 8\) has 4 channels"):
        REGISTRY["conv2d"].infer(Spec(F32, ("N", 4, 8, 8)), Spec(F32, (16, 3, 3, 3)), None, **GEOMETRY)


def test_conv_transpose2d_symbolic_batch():
    spec = REGISTRY["conv_transpose2d"].infer(Spec(F32, ("N", 8, 7, 7)), Spec(F32, (8, 4, 4, 4)), None,
                                              stride=(2, 2), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1,
                                              output_padding=(0, 0))
    assert spec == Spec(F32, ("N", 4, 14, 14))


def test_pooling_symbolic_batch():
    values, indices = REGISTRY["max_pool2d"].infer(Spec(F32, ("N", 16, 28, 28)), kernel=(2, 2), stride=(2, 2),
                                                   padding=(0, 0), dilation=(1, 1), ceil_mode=False)
    assert values == Spec(F32, ("N", 16, 14, 14)) and indices == Spec(I64, ("N", 16, 14, 14))
    avg = REGISTRY["avg_pool2d"].infer(Spec(F32, ("N", 3, 7, 7)), kernel=(3, 3), stride=(2, 2), padding=(1, 1),
                                       ceil_mode=True, count_include_pad=True, divisor_override=None)
    assert avg == Spec(F32, ("N", 3, 4, 4))


def test_softmax_norms_and_lookups_keep_symbolic_dims():
    x = Spec(F32, ("N", "T", 8))
    assert REGISTRY["softmax"].infer(x, dim=2) == x
    assert REGISTRY["log_softmax"].infer(x, dim=1) == x
    assert REGISTRY["layer_norm"].infer(x, Spec(F32, (8,)), None, normalized_shape=(8,), eps=1e-5) == x
    image = Spec(F32, ("N", 3, "H", "W"))
    channel = Spec(F32, (3,))
    assert REGISTRY["batch_norm"].infer(image, channel, channel, channel, channel, eps=1e-5) == image
    tokens = Spec(I64, ("N", "T"))
    assert REGISTRY["embedding"].infer(Spec(F32, (100, 8)), tokens, padding_idx=None) == Spec(F32, ("N", "T", 8))
    assert REGISTRY["one_hot"].infer(tokens, num_classes=10) == Spec(I64, ("N", "T", 10))


def test_layer_norm_infer_rejects_wrong_trailing_shape():
    with pytest.raises(eager.OpError, match="layer_norm: input of shape \\('N', 5\\) does not end in"):
        REGISTRY["layer_norm"].infer(Spec(F32, ("N", 5)), None, None, normalized_shape=(4,), eps=1e-5)
