"""Every op's shape/dtype rule (`infer`) agrees with what its forward produced, on every case.

The rows of the op table are run with a recording tracer; each recorded call's `infer`, given
the input specs and attributes, must predict the output dtype and shape ("?" matches any size).
"""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager.ops import dispatch
from eager.ops.registry import Spec

from ..recording_tracer import RecordingTracer
from .cases import CASES
from .test_ops import IDS


def _spec(t):
    return None if t is None else Spec(t.dtype, tuple(t.shape))


def _matches(predicted: tuple, actual: tuple) -> bool:
    return len(predicted) == len(actual) and all(p == "?" or p == a for p, a in zip(predicted, actual))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_infer_predicts_every_recorded_call(case):
    arrays = case.inputs(np.random.default_rng(5))
    tensors = [eager.tensor(a, dtype=eager.float64) if a.dtype == np.float64 else eager.tensor(a) for a in arrays]
    recorder = RecordingTracer()
    dispatch.TRACERS.append(recorder)
    try:
        case.fn(eager, *tensors)
    finally:
        dispatch.TRACERS.pop()
    if not recorder.calls:
        pytest.skip("the row records no op (e.g. a move to the device it is on)")
    for op, inputs, attrs, outputs in recorder.calls:
        spec = op.infer(*[_spec(t) for t in inputs], **attrs)
        specs = spec if op.num_outputs > 1 else (spec,)
        for s, out in zip(specs, outputs):
            assert s.dtype is out.dtype, f"{op.name}: infer says {s.dtype}, forward gave {out.dtype}"
            assert _matches(tuple(s.shape), tuple(out.shape)), \
                f"{op.name} {attrs}: infer says {s.shape}, forward gave {out.shape}"
