"""Every HF PerceiverConfig field is honoured (parity with HF), refused (naming the field), or shown not to
change the outputs: none is silently ignored (``perceiver_rl/hf_fields.py``)."""

from __future__ import annotations

import pytest
import torch

from perceiver_rl.convert import FAMILIES, config_from_hf, load_hf_state_dict
from perceiver_rl.hf_fields import HONOURED, NO_EFFECT, REPRODUCIBLE, check_hf_config

transformers = pytest.importorskip("transformers")
from support.hf import build_hf, build_ours_from, sample_inputs  # noqa: E402


def test_every_field_of_the_installed_perceiver_config_is_classified():
    fields = set(transformers.PerceiverConfig().to_dict())
    unclassified = fields - set(HONOURED) - set(REPRODUCIBLE) - set(NO_EFFECT)
    assert not unclassified, f"HF config fields the converter does not know: {sorted(unclassified)}"


def _outputs(family: str, hf: torch.nn.Module, ours: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    hf_in, our_in = sample_inputs(family, hf)
    with torch.no_grad():
        return hf(inputs=hf_in).logits, ours(our_in)


MATH_FIELDS = [
    {"use_query_residual": False},
    {"cross_attention_shape_for_attention": "q"},
    {"qk_channels": 32, "v_channels": 64},
    {"self_attention_widening_factor": 2, "cross_attention_widening_factor": 3},
]


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("fields", MATH_FIELDS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()))
def test_fields_that_change_the_math_are_honoured(family, fields):
    hf = build_hf(family, **fields)
    expected, got = _outputs(family, hf, build_ours_from(hf, family))
    scale = expected.abs().max().item()
    assert (got - expected).abs().max().item() <= 1e-4 * max(1.0, scale)
    if set(fields) & {"use_query_residual", "cross_attention_shape_for_attention"}:
        # the field matters: a conversion that ignored it would be off
        hf_dict = {k: v for k, v in hf.config.to_dict().items() if k not in fields}
        ignoring = FAMILIES[family].build(config_from_hf(family, hf_dict, match_hf=True))
        try:
            load_hf_state_dict(ignoring, hf.state_dict())
        except ValueError:
            return  # different shapes: it could not even load
        _, wrong = _outputs(family, hf, ignoring.eval())
        assert (wrong - expected).abs().max().item() > 1e-2 * scale


NO_EFFECT_VALUES = {
    "layer_norm_eps": 1e-2,
    "attention_probs_dropout_prob": 0.5,
    "chunk_size_feed_forward": 1,
    "initializer_range": 0.5,
    "d_model": 17,
    "vocab_size": 11,
    "max_position_embeddings": 13,
    "num_frames": 3,
    "output_num_channels": 7,
}


@pytest.mark.parametrize("field,value", sorted(NO_EFFECT_VALUES.items()))
def test_fields_without_effect_leave_parity(field, value):
    assert field in NO_EFFECT
    for family in ("learned", "flow"):
        hf = build_hf(family, **{field: value})
        expected, got = _outputs(family, hf, build_ours_from(hf, family))
        assert (got - expected).abs().max().item() <= 1e-4 * max(1.0, expected.abs().max().item()), family


@pytest.mark.parametrize(
    "fields,culprit",
    [
        ({"hidden_act": "relu"}, "HF config field hidden_act: expected 'gelu'"),
        ({"hidden_act": "gelu_new"}, "HF config field hidden_act"),
        ({"pruned_heads": {"0": [1]}}, "HF config field pruned_heads"),
        ({"model_type": "bert"}, "HF config field model_type"),
        ({"use_query_residual": "no"}, "HF config field use_query_residual: expected true or false"),
        ({"cross_attention_shape_for_attention": "qkv"}, "HF config field cross_attention_shape_for_attention"),
        ({"num_latents": 0}, "HF config field num_latents: expected an int >= 1, got 0"),
        ({"d_latents": "64"}, "HF config field d_latents: expected an int >= 1"),
        ({"qk_channels": -8}, "HF config field qk_channels: expected an int >= 1 or null"),
        ({"image_size": [32]}, "HF config field image_size"),
        ({"id2label": {}}, "HF config field id2label"),
        ({"brand_new_switch": True}, "HF config field brand_new_switch: unknown to the converter"),
        ({"architectures": ["PerceiverForOpticalFlow"]}, "HF config field architectures"),
    ],
)
def test_fields_that_cannot_be_honoured_are_refused_by_name(fields, culprit):
    with pytest.raises(ValueError) as err:
        config_from_hf("learned", {"num_latents": 8, **fields})
    assert str(err.value).startswith(culprit), str(err.value)


def test_a_real_config_passes_the_check():
    for fam in FAMILIES.values():
        hf_config = transformers.PerceiverConfig(architectures=[fam.hf_class]).to_dict()
        check_hf_config(hf_config, fam.hf_class)
