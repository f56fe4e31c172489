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


def test_cross_entropy_target_out_of_bounds():
    with pytest.raises(eager.OpError, match="nll_loss: target 5 is out of bounds for 5 classes"):
        F.cross_entropy(eager.zeros(3, 5), eager.tensor([0, 5, 1]))


def test_cross_entropy_batch_mismatch_names_shapes():
    with pytest.raises(eager.OpError, match=r"nll_loss: input of shape \(3, 5\) needs a target of shape \(3,\)"):
        F.cross_entropy(eager.zeros(3, 5), eager.tensor([0, 1]))


def test_losses_reject_unknown_reduction():
    with pytest.raises(eager.OpError, match="mse_loss: reduction must be one of"):
        F.mse_loss(eager.zeros(2), eager.zeros(2), reduction="avg")


def test_binary_cross_entropy_with_logits_needs_same_shapes():
    with pytest.raises(eager.OpError, match=r"\(2, 3\) and target of shape \(3,\) differ"):
        F.binary_cross_entropy_with_logits(eager.zeros(2, 3), eager.zeros(3))


def test_layer_norm_shape_mismatch():
    with pytest.raises(eager.OpError, match=r"layer_norm: input of shape \(2, 5\) does not end in normalized_shape"):
        F.layer_norm(eager.zeros(2, 5), (4,))


def test_batch_norm_channel_mismatch():
    with pytest.raises(eager.OpError, match=r"batch_norm: running_mean of shape \(4,\) does not match"):
        F.batch_norm(eager.zeros(2, 3, 4), eager.zeros(4), eager.ones(4))


def test_batch_norm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(eager.OpError, match="more than 1 value per channel"):
        F.batch_norm(eager.zeros(1, 3), None, None, training=True)


def test_max_pool2d_padding_at_most_half_the_kernel():
    with pytest.raises(eager.OpError, match="max_pool2d: padding"):
        F.max_pool2d(eager.zeros(1, 1, 4, 4), 2, padding=2)


def test_embedding_index_out_of_range():
    with pytest.raises(eager.OpError, match=r"embedding: index out of range: indices span \[0, 7\] but there are 5"):
        F.embedding(eager.tensor([0, 7]), eager.zeros(5, 2))


def test_one_hot_needs_int64_in_range():
    with pytest.raises(eager.OpError, match="one_hot: needs an int64"):
        F.one_hot(eager.zeros(3))
    with pytest.raises(eager.OpError, match=r"one_hot: class values must be in \[0, 3\)"):
        F.one_hot(eager.tensor([0, 3]), 3)


def test_softmax_of_integers_is_an_error():
    with pytest.raises(eager.OpError, match="softmax: needs a floating point input, got int64"):
        F.softmax(eager.tensor([1, 2]), 0)


def test_dropout_probability_range():
    with pytest.raises(eager.OpError, match="dropout: probability has to be between 0 and 1"):
        F.dropout(eager.zeros(2), 1.5)


def test_attention_shapes_must_fit():
    with pytest.raises(eager.OpError, match="scaled_dot_product_attention: query"):
        F.scaled_dot_product_attention(eager.zeros(2, 3), eager.zeros(4, 5), eager.zeros(4, 2))
