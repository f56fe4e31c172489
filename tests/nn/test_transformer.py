"""MultiheadAttention and the Transformer encoder vs PyTorch (same weights, eval and train)."""
from __future__ import annotations

import numpy as np
import pytest

import eager
from eager import nn

from .torch_compare import compare_with_torch

torch = pytest.importorskip("torch")


def _qkv(rng, batch_first=False, L=4, S=5, N=2, E=8):
    q = rng.standard_normal((N, L, E) if batch_first else (L, N, E))
    kv = rng.standard_normal((N, S, E) if batch_first else (S, N, E))
    return q, kv, rng.standard_normal(kv.shape)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_attention_matches_pytorch(batch_first, average):
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    compare_with_torch(ours, theirs, list(_qkv(np.random.default_rng(0), batch_first)), grad_inputs=(0, 1, 2),
                       call=lambda m, q, k, v: m(q, k, v, average_attn_weights=average))


def test_self_attention_with_masks_matches_pytorch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 2, 8))
    attn_mask = np.triu(np.ones((4, 4), dtype=bool), 1)
    padding = np.array([[False, False, False, True], [False, False, False, False]])
    float_mask = rng.standard_normal((4, 4))

    def call(m, x, mask, pad, fmask):
        out1 = m(x, x, x, attn_mask=mask, key_padding_mask=pad)
        out2 = m(x, x, x, attn_mask=fmask, need_weights=False)
        return out1 + out2

    compare_with_torch(nn.MultiheadAttention(8, 4), torch.nn.MultiheadAttention(8, 4),
                       [x, attn_mask, padding, float_mask], call=call)


def test_causal_hint_needs_a_mask_and_keeps_its_result():
    x = np.random.default_rng(6).standard_normal((4, 2, 8))
    mask = np.triu(np.ones((4, 4), dtype=bool), 1)
    compare_with_torch(nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2), [x, mask],
                       call=lambda m, x, mask: m(x, x, x, attn_mask=mask, is_causal=True))
    with pytest.raises(RuntimeError, match="need attn_mask if specifying the is_causal hint"):
        nn.MultiheadAttention(8, 2)(*(eager.zeros(4, 2, 8),) * 3, is_causal=True)


def test_per_head_float_mask_matches_pytorch():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 2, 8))
    compare_with_torch(nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2),
                       [x, rng.standard_normal((2 * 2, 4, 4))], call=lambda m, x, mask: m(x, x, x, attn_mask=mask))


def test_attention_with_other_key_value_dims_and_no_bias():
    rng = np.random.default_rng(2)
    ours = nn.MultiheadAttention(8, 2, kdim=5, vdim=3, bias=False)
    theirs = torch.nn.MultiheadAttention(8, 2, kdim=5, vdim=3, bias=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    inputs = [rng.standard_normal((4, 2, 8)), rng.standard_normal((6, 2, 5)), rng.standard_normal((6, 2, 3))]
    compare_with_torch(ours, theirs, inputs, grad_inputs=(0, 1, 2))


def test_unbatched_attention():
    rng = np.random.default_rng(3)
    compare_with_torch(nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2),
                       [rng.standard_normal((4, 8)), rng.standard_normal((5, 8)), rng.standard_normal((5, 8))],
                       grad_inputs=(0, 1, 2))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_pytorch(norm_first, activation):
    kwargs = dict(dim_feedforward=16, dropout=0.0, activation=activation, norm_first=norm_first, batch_first=True)
    ours, theirs = nn.TransformerEncoderLayer(8, 2, **kwargs), torch.nn.TransformerEncoderLayer(8, 2, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(4).standard_normal((2, 5, 8))
    compare_with_torch(ours, theirs, [x], rtol=1e-5, atol=1e-7)


def test_encoder_stack_with_final_norm_and_padding_mask():
    layer_kwargs = dict(dim_feedforward=16, dropout=0.0)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, **layer_kwargs), 2, norm=nn.LayerNorm(8))
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, **layer_kwargs), 2,
                                         norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(5)
    pad = np.array([[False] * 5, [False, False, False, True, True]])
    compare_with_torch(ours, theirs, [rng.standard_normal((5, 2, 8)), pad], rtol=1e-5, atol=1e-7,
                       call=lambda m, x, p: m(x, src_key_padding_mask=p))


def test_encoder_layers_are_independent_copies():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16), 2)
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    assert len(list(enc.parameters())) == 2 * len(list(enc.layers[0].parameters()))


def test_dropout_in_attention_only_in_training():
    eager.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5).eval()
    x = eager.randn(3, 1, 8)
    a = m(x, x, x)[0].detach().numpy()
    b = m(x, x, x)[0].detach().numpy()
    np.testing.assert_array_equal(a, b)
