"""Bad arguments to NN ops raise errors naming the op, the shapes and the caller's line."""
from __future__ import annotations

import pytest

import eager
import eager.nn.functional as F


def test_conv2d_channel_mismatch_names_op_shapes_and_line():
    x, w = eager.zeros(2, 3, 8, 8), eager.zeros(4, 5, 3, 3)
    with pytest.raises(eager.OpError) as info:
        F.conv2d(x, w)
    message = str(info.value)
    assert message.startswith("conv2d: ")
    assert "(2, 3, 8, 8)" in message and "(4, 5, 3, 3)" in message
    assert "test_nn_errors.py:" in message


def test_conv2d_groups_must_divide_channels():
    with pytest.raises(eager.OpError, match="conv2d: .*not divisible by groups=2"):
        F.conv2d(eager.zeros(1, 3, 4, 4), eager.zeros(4, 1, 1, 1), groups=2)


def test_conv2d_same_padding_needs_stride_one():
    with pytest.raises(eager.OpError, match="padding='same' needs stride 1"):
        F.conv2d(eager.zeros(1, 1, 4, 4), eager.zeros(1, 1, 3, 3), stride=2, padding="same")


def test_conv2d_rejects_mixed_dtypes():
    with pytest.raises(eager.OpError, match="conv2d: .*one dtype"):
        F.conv2d(eager.zeros(1, 1, 4, 4), eager.zeros(1, 1, 3, 3, dtype=eager.float64))


def test_conv_transpose2d_output_padding_must_be_smaller_than_stride():
    with pytest.raises(eager.OpError, match="conv_transpose2d: output_padding"):
        F.conv_transpose2d(eager.zeros(1, 1, 4, 4), eager.zeros(1, 1, 3, 3), stride=2, output_padding=2)
