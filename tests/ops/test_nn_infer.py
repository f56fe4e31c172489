"""Shape rules (`infer`) of the NN ops: they agree with the kernels, and keep symbolic dims."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager.ops import REGISTRY, Spec
from eager.ops.dispatch import TRACERS, OpObserver

from .cases_nn import CASES as NN_CASES
from .test_ops import _tensors

NN_FAMILIES = ("eager.ops.conv", "eager.ops.nn", "eager.ops.normalization", "eager.ops.pooling")


class _Recorder(OpObserver):
    """Collects every op application (the tracer interface, without building a graph)."""

    def __init__(self) -> None:
        self.calls = []

    def record(self, op, inputs, attrs, outputs) -> None:
        self.calls.append((op, inputs, attrs, outputs))


def _spec(t):
    return None if t is None else Spec(t.dtype, tuple(t.shape))


def _is_nn(op) -> bool:
    return op.forward.__module__ in NN_FAMILIES


@pytest.mark.parametrize("case", NN_CASES, ids=[f"{c.op}-{c.id}" if c.id else c.op for c in NN_CASES])
def test_infer_agrees_with_the_kernel(case):
    _, tensors = _tensors(case, np.random.default_rng(0), False)
    recorder = _Recorder()
    TRACERS.append(recorder)
    try:
        case.fn(eager, *tensors)
    finally:
        TRACERS.remove(recorder)
    checked = [call for call in recorder.calls if _is_nn(call[0])]
    if case.op in REGISTRY and _is_nn(REGISTRY[case.op]):
        assert case.op in {op.name for op, *_ in checked}
    for op, inputs, attrs, outputs in checked:
        specs = op.infer(*[_spec(t) for t in inputs], **attrs)
        specs = specs if isinstance(specs, tuple) and isinstance(specs[0], Spec) else (specs,)
        assert [tuple(s.shape) for s in specs] == [tuple(o.shape) for o in outputs], op.name
        assert [s.dtype for s in specs] == [o.dtype for o in outputs], op.name


F32, I64 = eager.float32, eager.int64
GEOMETRY = {"stride": (1, 1), "padding": ((1, 1), (1, 1)), "dilation": (1, 1), "groups": 1}


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
                                              stride=(2, 2), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1,
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
