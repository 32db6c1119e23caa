import math

import pytest
import torch

from perceiver_rl import MultiHeadAttention


def naive_attention(m: MultiHeadAttention, x_q, x_kv, mask):
    """Independent reference: einsum + softmax + masks, DeepMind's zeroing of fully-masked rows."""
    h = m.num_heads
    q_in = m.q_norm(x_q)
    kv_in = q_in if m.self_attention else m.kv_norm(x_kv)
    q, k, v = m.q_proj(q_in), m.k_proj(kv_in), m.v_proj(kv_in)
    b, o, cqk = q.shape
    q = q.reshape(b, o, h, cqk // h)
    k = k.reshape(b, k.shape[1], h, cqk // h)
    v = v.reshape(b, v.shape[1], h, v.shape[-1] // h)
    logits = torch.einsum("bohd,bmhd->bhom", q, k) / math.sqrt(cqk // h)
    if mask is not None:
        logits = logits.masked_fill(~mask[:, None, None, :], -1e30)
    w = torch.softmax(logits, dim=-1)
    out = torch.einsum("bhom,bmhd->bohd", w, v).reshape(b, o, -1)
    out = m.o_proj(out)
    if mask is not None:
        out = out.masked_fill(~mask.any(dim=1)[:, None, None], 0.0)
    return out


@pytest.mark.parametrize("heads,qk,v,out", [(1, None, None, None), (4, 32, 48, 24), (8, 64, None, None)])
def test_cross_attention_matches_naive(heads, qk, v, out):
    m = MultiHeadAttention(
        q_channels=32, kv_channels=20, num_heads=heads, qk_channels=qk, v_channels=v, out_channels=out
    )
    x_q, x_kv = torch.randn(3, 7, 32), torch.randn(3, 11, 20)
    mask = torch.rand(3, 11) > 0.3
    mask[:, 0] = True
    for msk in (None, mask):
        torch.testing.assert_close(m(x_q, x_kv, msk), naive_attention(m, x_q, x_kv, msk), atol=1e-5, rtol=1e-5)


def test_self_attention_matches_naive():
    m = MultiHeadAttention(q_channels=24, kv_channels=24, num_heads=3, self_attention=True)
    x = torch.randn(2, 9, 24)
    torch.testing.assert_close(m(x), naive_attention(m, x, x, None), atol=1e-5, rtol=1e-5)


def test_all_masked_rows_return_zeros_not_nan():
    m = MultiHeadAttention(q_channels=16, kv_channels=16, num_heads=2)
    x_q, x_kv = torch.randn(3, 4, 16, requires_grad=True), torch.randn(3, 5, 16)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1] = False  # batch element 1 has no valid key at all
    out = m(x_q, x_kv, mask)
    assert torch.isfinite(out).all()
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    assert out[0].abs().sum() > 0
    out.sum().backward()
    assert torch.isfinite(x_q.grad).all()
    torch.testing.assert_close(out, naive_attention(m, x_q, x_kv, mask), atol=1e-5, rtol=1e-5)


def test_masked_keys_do_not_influence_output():
    m = MultiHeadAttention(q_channels=16, kv_channels=8, num_heads=2)
    x_q, x_kv = torch.randn(2, 3, 16), torch.randn(2, 6, 8)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 0, 1, 0, 1, 0]], dtype=torch.bool)
    changed = x_kv.clone()
    changed[~mask] = 1e3
    torch.testing.assert_close(m(x_q, x_kv, mask), m(x_q, changed, mask))


@pytest.mark.parametrize(
    "x_q,x_kv,mask,culprit",
    [
        ((2, 3, 15), (2, 5, 8), None, "x_q"),
        ((2, 3), (2, 5, 8), None, "x_q"),
        ((2, 3, 16), (2, 5, 9), None, "x_kv"),
        ((2, 3, 16), (3, 5, 8), None, "x_kv"),
        ((2, 3, 16), (2, 5, 8), (2, 4), "mask"),
        ((2, 3, 16), (2, 5, 8), (2, 5, 1), "mask"),
    ],
)
def test_bad_shapes_raise_value_error_naming_argument_and_shapes(x_q, x_kv, mask, culprit):
    m = MultiHeadAttention(q_channels=16, kv_channels=8)
    msk = None if mask is None else torch.ones(mask, dtype=torch.bool)
    with pytest.raises(ValueError) as e:
        m(torch.randn(x_q), torch.randn(x_kv), msk)
    msg = str(e.value)
    assert msg.startswith(culprit + ":")
    bad = {"x_q": x_q, "x_kv": x_kv, "mask": mask}[culprit]
    assert str(tuple(bad)) in msg and "expected shape" in msg


def test_non_boolean_mask_rejected():
    m = MultiHeadAttention(q_channels=16, kv_channels=8)
    with pytest.raises(ValueError, match="mask: expected a boolean"):
        m(torch.randn(2, 3, 16), torch.randn(2, 5, 8), torch.ones(2, 5))


@pytest.mark.parametrize(
    "o,m,heads,form",
    [
        (3, 4, 2, "standard"),
        (2, 40, 1, "absorb_keys"),
        (3, 40, 2, "absorb_keys"),
        (40, 2, 1, "absorb_queries"),
        (40, 3, 2, "absorb_queries"),
    ],
)
def test_every_evaluation_order_is_the_same_function_with_the_same_gradients(o, m, heads, form):
    """Cross-attention between a short and a long side folds the long side's projections into the short side;
    values, gradients (of inputs and every parameter) and the fully-masked-row zeros stay those of the
    reference, and autograd on or off gives the same bits (the rollout and the learner agree)."""
    torch.manual_seed(0)
    att = MultiHeadAttention(
        q_channels=12, kv_channels=10, num_heads=heads, qk_channels=8, v_channels=6, out_channels=14
    )
    assert att.form(o, m) == form
    for p in att.parameters():  # non-trivial LayerNorms and biases
        p.data.normal_()
    mask = torch.rand(3, m) > 0.3
    mask[:, 0] = True
    mask[2] = False  # one sample without any valid key
    x_q = torch.randn(3, o, 12, requires_grad=True)
    x_kv = torch.randn(3, m, 10, requires_grad=True)
    for msk in (None, mask):
        out, ref = att(x_q, x_kv, msk), naive_attention(att, x_q, x_kv, msk)
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
        with torch.no_grad():
            assert torch.equal(att(x_q, x_kv, msk), out.detach())
        w = torch.randn_like(out)
        ours = torch.autograd.grad((out * w).sum(), [x_q, x_kv, *att.parameters()])
        theirs = torch.autograd.grad((ref * w).sum(), [x_q, x_kv, *att.parameters()])
        for (name, _), a, b in zip([("x_q", 0), ("x_kv", 0), *att.named_parameters()], ours, theirs):
            torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3, msg=name)
