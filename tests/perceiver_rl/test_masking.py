"""Masked padding never leaks: whatever a masked slot holds (1e30, inf, NaN), the outputs are those of zeros there,
finite, with finite gradients. And a config out of range is one ValueError naming the field, before any tensor."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from perceiver_rl import (
    DecoderConfig,
    EncoderConfig,
    ImageClassifier,
    ImageClassifierConfig,
    MultiHeadAttention,
    OpticalFlow,
    OpticalFlowConfig,
    PerceiverDecoder,
    PerceiverEncoder,
    PerceiverIO,
    SelfAttentionBlock,
    TrainableQueries,
    zero_masked,
)
from perceiver_rl.preprocessors import (
    ConvPreprocessorConfig,
    FourierPixelsPreprocessorConfig,
    LearnedPositionPreprocessorConfig,
)

HOSTILE = [1e30, -1e30, float("inf"), float("-inf"), float("nan")]


def _mask(b: int, m: int, seed: int = 0) -> torch.Tensor:
    """Random ``(b, m)`` masks; row 0 has one valid slot, the last row none at all."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(b, m, generator=g) > 0.4
    mask[0] = False
    mask[0, 1] = True
    mask[-1] = False
    return mask


def _fill(x: torch.Tensor, mask: torch.Tensor, value: float) -> torch.Tensor:
    return x.masked_fill(~mask[..., None], value)


def _grads(module: nn.Module, out: torch.Tensor, *inputs: torch.Tensor) -> list[torch.Tensor]:
    w = torch.linspace(-1, 1, out.numel()).view_as(out)
    params = [p for p in module.parameters() if p.requires_grad]
    return list(torch.autograd.grad((out * w).sum(), [*inputs, *params], allow_unused=True))


def _assert_same_and_finite(hostile: torch.Tensor, clean: torch.Tensor, label: str) -> None:
    assert torch.isfinite(hostile).all(), label
    assert torch.equal(hostile, clean), label


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("o,m,heads", [(3, 4, 2), (2, 40, 1), (40, 3, 2)])  # standard, absorb_keys, absorb_queries
def test_cross_attention_ignores_what_masked_keys_hold(value, o, m, heads):
    torch.manual_seed(0)
    att = MultiHeadAttention(q_channels=12, kv_channels=10, num_heads=heads, qk_channels=8, v_channels=6)
    for p in att.parameters():  # non-trivial LayerNorms and biases
        p.data.normal_()
    mask = _mask(3, m)
    x_q, x_kv = torch.randn(3, o, 12), torch.randn(3, m, 10)
    clean_in = _fill(x_kv, mask, 0.0).requires_grad_()
    hostile_in = _fill(x_kv, mask, value).requires_grad_()
    clean, hostile = att(x_q, clean_in, mask), att(x_q, hostile_in, mask)
    _assert_same_and_finite(hostile, clean, att.form(o, m))
    assert torch.equal(hostile[-1], torch.zeros_like(hostile[-1]))  # no valid key: zeros
    for a, b in zip(_grads(att, hostile, hostile_in), _grads(att, clean, clean_in)):
        assert torch.isfinite(a).all() and torch.equal(a, b)


@pytest.mark.parametrize("value", HOSTILE)
def test_self_attention_block_rows_of_real_tokens_ignore_masked_rows(value):
    torch.manual_seed(1)
    block = SelfAttentionBlock(channels=16, num_heads=2, widening_factor=2)
    x, mask = torch.randn(4, 7, 16), _mask(4, 7)
    clean_in = _fill(x, mask, 0.0).requires_grad_()
    hostile_in = _fill(x, mask, value).requires_grad_()
    clean, hostile = block(clean_in, mask), block(hostile_in, mask)
    _assert_same_and_finite(hostile, clean, "block")  # masked rows too: those of a zero token
    for a, b in zip(_grads(block, hostile, hostile_in), _grads(block, clean, clean_in)):
        assert torch.isfinite(a).all() and torch.equal(a, b)


@pytest.mark.parametrize("value", HOSTILE)
def test_perceiver_encoder_and_perceiver_io_ignore_what_masked_inputs_hold(value):
    """Through the whole model, an input adapter with parameters included: the padding reaches neither the
    output nor any gradient."""
    torch.manual_seed(2)
    enc = PerceiverEncoder(
        EncoderConfig(
            num_input_channels=12,
            num_latents=6,
            num_latent_channels=16,
            num_cross_attention_heads=2,
            num_self_attention_heads=2,
            num_self_attends_per_block=2,
        )  # fmt: skip
    )
    x, mask = torch.randn(4, 9, 12), _mask(4, 9)
    clean, hostile = enc(_fill(x, mask, 0.0), mask), enc(_fill(x, mask, value), mask)
    _assert_same_and_finite(hostile, clean, "encoder")

    model = PerceiverIO(
        encoder=enc,
        decoder=PerceiverDecoder(DecoderConfig(num_latent_channels=16, num_query_channels=8, num_output_channels=3)),
        input_adapter=nn.Sequential(nn.Linear(5, 12), nn.LayerNorm(12)),
        output_queries=TrainableQueries(2, 8),
    )
    raw = torch.randn(4, 9, 5)
    clean_in, hostile_in = _fill(raw, mask, 0.0).requires_grad_(), _fill(raw, mask, value).requires_grad_()
    clean, hostile = model(clean_in, mask), model(hostile_in, mask)
    _assert_same_and_finite(hostile, clean, "PerceiverIO")
    for a, b in zip(_grads(model, hostile, hostile_in), _grads(model, clean, clean_in)):
        assert torch.isfinite(a).all() and torch.equal(a, b)


def test_finite_masked_values_give_the_unmasked_function_exactly():
    """Zeroing is exact: masked weights are exactly 0, so finite masked values (whatever they are) give the bits
    of zeros, and dropping the masked slots altogether gives the same function."""
    torch.manual_seed(3)
    enc = PerceiverEncoder(EncoderConfig(num_input_channels=8, num_latents=4, num_latent_channels=16))
    x = torch.randn(2, 6, 8)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    a = enc(_fill(x, mask, 0.0), mask)
    assert torch.equal(a, enc(_fill(x, mask, 123.0), mask))
    torch.testing.assert_close(a, enc(x[:, :4]), atol=1e-6, rtol=1e-6)
    assert torch.equal(enc(x), enc(x, torch.ones(2, 6, dtype=torch.bool)))  # nothing masked: nothing zeroed


def test_zero_masked_uses_where_with_zero_gradients_at_masked_slots():
    x = torch.tensor([[[float("nan"), float("inf")], [3.0, 2.0]]], requires_grad=True)
    mask = torch.tensor([[False, True]])
    y = zero_masked(x, mask)
    assert torch.equal(y, torch.tensor([[[0.0, 0.0], [3.0, 2.0]]]))
    y.sum().backward()
    assert torch.equal(x.grad, torch.tensor([[[0.0, 0.0], [1.0, 1.0]]]))


# ---- configs: one ValueError naming the field, before anything is allocated ----------------------------------

ENCODER_BAD = [
    ("num_latents", 0, "expected in [1, 65,536], got 0"),
    ("num_latents", -3, "got -3"),
    ("num_latents", 10**9, "expected in [1, 65,536], got 1000000000"),
    ("num_latents", 2.5, "expected an int in [1, 65,536], got 2.5"),
    ("num_latent_channels", 0, "got 0"),
    ("num_latent_channels", 1 << 17, "got 131072"),
    ("num_input_channels", 0, "got 0"),
    ("num_cross_attention_heads", 0, "expected in [1, 1,024], got 0"),
    ("num_self_attention_heads", 4096, "got 4096"),
    ("num_blocks", -1, "expected in [0, 1,024], got -1"),
    ("num_self_attends_per_block", 10**6, "got 1000000"),
    ("cross_attention_widening_factor", 0, "got 0"),
    ("self_attention_widening_factor", 10**4, "got 10000"),
    ("qk_channels", 0, "expected None or in [1, 65,536], got 0"),
    ("v_channels", -8, "got -8"),
    ("dropout", 1.0, "expected in [0, 1), got 1.0"),
    ("dropout", float("nan"), "expected a finite number, got nan"),
    ("init_scale", 0.0, "expected a finite number > 0, got 0.0"),
    ("cross_attention_shape_for_attn", "x", "expected 'kv' or 'q', got 'x'"),
]


@pytest.mark.parametrize("field,value,message", ENCODER_BAD, ids=[f"{f}={v}" for f, v, _ in ENCODER_BAD])
def test_encoder_config_out_of_range_is_one_value_error_naming_the_field(field, value, message):
    kwargs = {"num_input_channels": 8, field: value}
    with pytest.raises(ValueError) as e:
        EncoderConfig(**kwargs)
    assert str(e.value).startswith(f"{field}: ") and message in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_a_field_set_after_construction_is_refused_when_the_module_is_built():
    config = EncoderConfig(num_input_channels=8)
    config.num_latents = 10**9  # would allocate 10**9 x 512 latents
    with pytest.raises(ValueError, match=r"^num_latents: expected in \[1, 65,536\], got 1000000000$"):
        PerceiverEncoder(config)
    dec = DecoderConfig(num_latent_channels=8, num_query_channels=8)
    dec.num_heads = 0
    with pytest.raises(ValueError, match=r"^num_heads: "):
        PerceiverDecoder(dec)


@pytest.mark.parametrize(
    "build,field",
    [
        (
            lambda: DecoderConfig(num_latent_channels=8, num_query_channels=8, num_output_channels=0),
            "num_output_channels",
        ),
        (lambda: DecoderConfig(num_latent_channels=8, num_query_channels=0), "num_query_channels"),
        (lambda: DecoderConfig(num_latent_channels=8, num_query_channels=8, num_heads=0), "num_heads"),
        (lambda: DecoderConfig(num_latent_channels=8, num_query_channels=8, widening_factor=0), "widening_factor"),
        (lambda: DecoderConfig(num_latent_channels=8, num_query_channels=8, shape_for_attn="z"), "shape_for_attn"),
        (lambda: ImageClassifierConfig(num_latents=0), "num_latents"),
        (lambda: ImageClassifierConfig(num_classes=0), "num_classes"),
        (lambda: ImageClassifierConfig(num_classes=10**9), "num_classes"),
        (lambda: ImageClassifierConfig(preprocessor_config=FourierPixelsPreprocessorConfig(num_bands=0)), "num_bands"),
        (lambda: OpticalFlowConfig(num_latents=10**9), "num_latents"),
        (lambda: OpticalFlowConfig(image_size=(0, 8)), "image_size"),
        (lambda: OpticalFlowConfig(image_size=(8,)), "image_size"),
        (lambda: OpticalFlowConfig(max_resolution=(8, -1)), "max_resolution"),
        (lambda: OpticalFlowConfig(rescale_factor=0.0), "rescale_factor"),
        (lambda: LearnedPositionPreprocessorConfig(position_channels=0), "position_channels"),
        (lambda: LearnedPositionPreprocessorConfig(image_size=(10**6, 10**6)), "image_size"),
        (lambda: ConvPreprocessorConfig(conv_channels=-1), "conv_channels"),
        (lambda: MultiHeadAttention(q_channels=8, kv_channels=8, num_heads=0), "num_heads"),
        (lambda: MultiHeadAttention(q_channels=0, kv_channels=8), "q_channels"),
        (lambda: MultiHeadAttention(q_channels=8, kv_channels=8, qk_channels=0), "qk_channels"),
        (lambda: SelfAttentionBlock(channels=8, num_heads=2, widening_factor=0), "widening_factor"),
    ],
)
def test_every_width_and_count_is_bounded(build, field):
    with pytest.raises(ValueError) as e:
        build()
    assert str(e.value).startswith(f"{field}: expected "), str(e.value)
    assert "\n" not in str(e.value)


def test_task_models_check_their_config_before_building():
    config = ImageClassifierConfig(
        preprocessor_config=FourierPixelsPreprocessorConfig(image_size=(8, 8), num_bands=2), num_latents=4
    )
    config.num_latents = 0
    with pytest.raises(ValueError, match="^num_latents: "):
        ImageClassifier(config)
    flow = dataclasses.replace(OpticalFlowConfig(image_size=(8, 8)), num_self_attends_per_block=1)
    flow.num_latent_channels = 10**9
    with pytest.raises(ValueError, match="^num_latent_channels: "):
        OpticalFlow(flow)


def test_the_bounds_themselves_are_accepted():
    EncoderConfig(num_input_channels=65536, num_latents=65536, num_latent_channels=65536, num_blocks=0)
    EncoderConfig(num_input_channels=1, num_latents=1, num_latent_channels=1, num_self_attends_per_block=0)
    DecoderConfig(num_latent_channels=1, num_query_channels=1, num_output_channels=1 << 20, num_heads=1024)
