"""Every registered entity encoder, and the policy above it, ignores what empty entity slots hold (1e30, inf,
NaN): the outputs are those of zeros there, finite, with finite gradients. Out-of-range encoder configs are one
``ValueError`` naming the field."""

from __future__ import annotations

import pytest
import torch

from agents.nets.config_values import MAX_LAYERS, MAX_WIDTH, ConfigError
from agents.nets.encoders import ENTITY_ENCODERS, EntityEncoderConfig, build_entity_encoder
from support.policy import random_obs, specs, tiny_policy

HOSTILE = [1e30, -1e30, float("inf"), float("-inf"), float("nan")]
CFG = EntityEncoderConfig(channels=16, num_layers=2, num_heads=2, head_channels=8, num_latents=4, widening_factor=2)
ENCODERS = sorted(ENTITY_ENCODERS)


def _mask(b: int, n: int) -> torch.Tensor:
    """Random masks; row 0 holds one entity, the last row none."""
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(b, n, generator=g) > 0.4
    mask[0] = False
    mask[0, 2] = True
    mask[-1] = False
    return mask


def _outputs(encoding) -> list[torch.Tensor]:
    return [t for t in (encoding.per_entity, encoding.pooled, encoding.memory) if t is not None]


def test_both_builtin_encoders_are_covered():
    assert {"perceiver", "transformer"} <= set(ENCODERS)


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("skip", [False, True], ids=["per_entity", "skip_per_entity"])
@pytest.mark.parametrize("name", ENCODERS)
def test_entity_encoders_ignore_what_empty_slots_hold(name, skip, value):
    torch.manual_seed(0)
    enc = build_entity_encoder(name, 5, CFG)
    if skip:
        enc.skip_per_entity()
    x, mask = torch.randn(4, 7, 5), _mask(4, 7)
    clean_in = x.masked_fill(~mask[..., None], 0.0)
    hostile_in = x.masked_fill(~mask[..., None], value)
    for api in ("encode", "encode_without_per_entity"):
        clean, hostile = getattr(enc, api)(clean_in, mask), getattr(enc, api)(hostile_in, mask)
        for a, b in zip(_outputs(hostile), _outputs(clean), strict=True):
            assert torch.isfinite(a).all() and torch.equal(a, b), api
        if hostile.per_entity is not None:
            assert (hostile.per_entity[~mask] == 0).all()
    per_entity, pooled = enc(hostile_in, mask)
    loss = pooled.pow(2).sum() + (0 if per_entity is None else per_entity.pow(2).sum())
    loss.backward()
    grads = [p.grad for p in enc.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("encoder", ["perceiver", "transformer"])
def test_policy_ignores_what_empty_entity_slots_hold(encoder, value):
    """Through the whole policy (map positions of the entities, pointer heads, value): the same logits, value and
    log-probabilities, finite gradients for every parameter."""
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, encoder=encoder, heads="queries")
    obs = random_obs(obs_spec, 6, seed=7)
    empty = obs["entity_mask"] == 0
    clean = dict(obs, entities=obs["entities"].masked_fill(empty[..., None], 0.0))
    hostile = dict(obs, entities=obs["entities"].masked_fill(empty[..., None], value))
    with torch.no_grad():
        actions = policy(clean, deterministic=True).actions
    a = policy(clean, actions=actions)
    b = policy(hostile, actions=actions)
    for field in ("dist_inputs", "logp", "value", "entropy"):
        x, y = getattr(b, field), getattr(a, field)
        assert torch.isfinite(x).all(), field
        torch.testing.assert_close(x, y, atol=1e-6, rtol=1e-6, msg=field)
    (b.logp.sum() + b.value.pow(2).sum()).backward()
    bad = [n for n, p in policy.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not bad


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("num_latents", 0, "num_latents: expected in [1, 65,536], got 0"),
        ("num_latents", 10**9, "num_latents: expected in [1, 65,536], got 1000000000"),
        ("channels", 0, f"channels: expected in [1, {MAX_WIDTH:,}], got 0"),
        ("channels", -5, f"channels: expected in [1, {MAX_WIDTH:,}], got -5"),
        ("num_heads", 0, "num_heads: expected in [1, 1,024], got 0"),
        ("head_channels", 10**6, f"head_channels: expected in [1, {MAX_WIDTH:,}], got 1000000"),
        ("num_layers", -1, f"num_layers: expected in [0, {MAX_LAYERS:,}], got -1"),
        ("num_layers", 10**5, f"num_layers: expected in [0, {MAX_LAYERS:,}], got 100000"),
        ("widening_factor", 0, "widening_factor: expected in [1, 256], got 0"),
        ("decoder_widening_factor", 10**4, "decoder_widening_factor: expected in [1, 256], got 10000"),
    ],
)
def test_entity_encoder_config_out_of_range_is_one_error_naming_the_field(field, value, message):
    with pytest.raises(ConfigError) as e:
        EntityEncoderConfig(**{field: value})
    assert str(e.value) == message
    config = EntityEncoderConfig()
    setattr(config, field, value)  # set after construction: refused when the encoder is built
    for name in ENCODERS:
        with pytest.raises(ValueError, match=f"^{field}: "):
            build_entity_encoder(name, 5, config)


def test_relations_and_entity_features_are_checked_before_anything_is_allocated():
    too_wide = rf"^head_channels: expected num_heads \* head_channels <= {MAX_WIDTH:,}, got {2 * MAX_WIDTH:,}$"
    with pytest.raises(ValueError, match=too_wide):
        build_entity_encoder("transformer", 5, EntityEncoderConfig(num_heads=2, head_channels=MAX_WIDTH))
    with pytest.raises(ValueError, match=r"^entity_features: expected in \[1, 65,536\], got 0$"):
        build_entity_encoder("perceiver", 0, CFG)
    EntityEncoderConfig(
        num_layers=MAX_LAYERS, num_latents=65536, channels=MAX_WIDTH, num_heads=1024
    )  # the bounds themselves are valid
