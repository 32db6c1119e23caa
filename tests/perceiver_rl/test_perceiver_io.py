import pytest
import torch

from perceiver_rl import (
    DecoderConfig,
    EncoderConfig,
    PerceiverDecoder,
    PerceiverEncoder,
    PerceiverIO,
    TrainableQueries,
)
from perceiver_rl.flops import count_flops


def make_model(c_in=12, latents=8, d=32, blocks=1, per_block=2, q_ch=16, out=5, num_queries=3):
    enc = PerceiverEncoder(
        EncoderConfig(
            num_input_channels=c_in,
            num_latents=latents,
            num_latent_channels=d,
            num_self_attention_heads=4,
            num_blocks=blocks,
            num_self_attends_per_block=per_block,
        )
    )
    dec = PerceiverDecoder(DecoderConfig(num_latent_channels=d, num_query_channels=q_ch, num_output_channels=out))
    return PerceiverIO(encoder=enc, decoder=dec, output_queries=TrainableQueries(num_queries, q_ch))


@pytest.mark.parametrize("num_queries", [1, 7, 300])
def test_any_number_of_output_queries(num_queries):
    m = make_model()
    x = torch.randn(2, 40, 12)
    assert m(x, queries=torch.randn(2, num_queries, 16)).shape == (2, num_queries, 5)


def test_default_trainable_queries_and_mask():
    m = make_model(num_queries=3)
    mask = torch.rand(2, 40) > 0.5
    out = m(torch.randn(2, 40, 12), mask)
    assert out.shape == (2, 3, 5) and torch.isfinite(out).all()


def test_missing_queries_is_a_clear_error():
    m = make_model()
    m.output_queries = None
    with pytest.raises(ValueError, match="queries"):
        m(torch.randn(1, 4, 12))


def test_weight_sharing_across_blocks_really_shares():
    one, eight = make_model(blocks=1), make_model(blocks=8)
    n1 = sum(p.numel() for p in one.parameters())
    n8 = sum(p.numel() for p in eight.parameters())
    assert n1 == n8
    # ... but the computation does repeat: more blocks, more FLOPs, different outputs.
    x = torch.randn(1, 10, 12)
    assert count_flops(lambda: eight(x)) > count_flops(lambda: one(x))
    more_layers = make_model(per_block=4)
    assert sum(p.numel() for p in more_layers.parameters()) > n1


def _flops(m, inputs, queries):
    return count_flops(lambda: m(torch.randn(1, inputs, 12), queries=torch.randn(1, queries, 16)))


def test_flops_linear_in_input_size_and_output_size():
    m = make_model()
    f = [_flops(m, n, 10) for n in (100, 200, 400, 800)]
    diffs = [b - a for a, b in zip(f, f[1:])]
    # Equal increments for equal steps: exactly linear (f = a + b*M); doubling steps double the increment.
    assert diffs[1] == 2 * diffs[0] and diffs[2] == 2 * diffs[1]
    g = [_flops(m, 100, o) for o in (50, 100, 200, 400)]
    gd = [b - a for a, b in zip(g, g[1:])]
    assert gd[1] == 2 * gd[0] and gd[2] == 2 * gd[1]
    # Attention itself is counted (the CPU fused kernel is registered), not only the linears.
    assert f[-1] > 0 and diffs[0] > 0


def test_finite_gradients_for_every_parameter():
    m = make_model(blocks=2)
    mask = torch.rand(3, 40) > 0.4
    mask[0] = False  # one sample with nothing valid
    m(torch.randn(3, 40, 12), mask).pow(2).sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_wrong_input_channels_names_argument():
    m = make_model()
    with pytest.raises(ValueError, match=r"inputs: expected shape \(B, M, 12\), got \(2, 40, 11\)"):
        m(torch.randn(2, 40, 11))
    with pytest.raises(ValueError, match=r"queries: expected shape \(B, O, 16\), got \(2, 3, 15\)"):
        m(torch.randn(2, 40, 12), queries=torch.randn(2, 3, 15))
    with pytest.raises(ValueError, match=r"mask: expected shape \(2, 40\)"):
        m(torch.randn(2, 40, 12), torch.ones(2, 39, dtype=torch.bool))


def test_bfloat16_autocast():
    m = make_model()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(torch.randn(2, 40, 12), torch.rand(2, 40) > 0.5)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
    out.float().sum().backward()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    m = make_model()
    x, mask = torch.randn(2, 40, 12), torch.rand(2, 40) > 0.5
    ref = m(x, mask)
    out = m.cuda()(x.cuda(), mask.cuda())
    torch.testing.assert_close(out.cpu(), ref, atol=1e-4, rtol=1e-4)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        assert torch.isfinite(m(x.cuda(), mask.cuda()).float()).all()
