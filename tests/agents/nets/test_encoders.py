"""Entity encoders (transformer | perceiver), the registry, spatial and scalar encoders."""

from __future__ import annotations

import pytest
import torch

from agents.nets.encoders import (
    ENTITY_ENCODERS,
    EntityEncoder,
    EntityEncoderConfig,
    PerceiverEntityEncoder,
    SpatialEncoder,
    TransformerEntityEncoder,
    build_entity_encoder,
    masked_mean,
    register_entity_encoder,
)
from perceiver_rl import zero_masked

F = 5
CFG = EntityEncoderConfig(channels=16, num_layers=2, num_heads=2, head_channels=8, num_latents=4)


@pytest.mark.parametrize("name", ["transformer", "perceiver"])
def test_shapes_and_registry(name):
    enc = build_entity_encoder(name, F, CFG)
    assert isinstance(enc, ENTITY_ENCODERS[name])
    x, mask = torch.randn(3, 7, 5), torch.rand(3, 7) > 0.3
    per_entity, pooled = enc(x, mask)
    assert per_entity.shape == (3, 7, 16) and pooled.shape == (3, 16)
    assert (per_entity[~mask] == 0).all()
    encoding = enc.encode(x, mask)
    if name == "perceiver":
        assert encoding.memory.shape == (3, 4, 16) and encoding.memory_mask is None
    else:
        assert encoding.memory.shape == (3, 7, 16) and torch.equal(encoding.memory_mask, mask)


@pytest.mark.parametrize("name", ["transformer", "perceiver"])
def test_padding_does_not_change_real_entities(name):
    enc = build_entity_encoder(name, F, CFG).eval()
    x, mask = torch.randn(2, 5, 5), torch.ones(2, 5, dtype=torch.bool)
    padded = torch.cat([x, 100 * torch.randn(2, 3, 5)], 1)
    padded_mask = torch.cat([mask, torch.zeros(2, 3, dtype=torch.bool)], 1)
    a, pa = enc(x, mask)
    b, pb = enc(padded, padded_mask)
    torch.testing.assert_close(b[:, :5], a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(pb, pa, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["transformer", "perceiver"])
def test_zero_entities_and_all_masked_rows_are_finite(name):
    enc = build_entity_encoder(name, F, CFG)
    for n in (0, 4):
        x = torch.randn(2, n, 5)
        out = enc(x, torch.zeros(2, n, dtype=torch.bool))
        assert all(torch.isfinite(t).all() for t in out)
        assert out[0].shape == (2, n, 16)


def test_alphastar_transformer_sizes():
    enc = TransformerEntityEncoder(46, EntityEncoderConfig())
    assert len(enc.layers) == 3
    attn = enc.layers[0].attention
    assert attn.num_heads == 2 and attn.q_proj.out_features == 2 * 128
    assert enc.layers[0].mlp.fc1.out_features == 1024
    per = PerceiverEntityEncoder(46, EntityEncoderConfig())
    assert per.encoder.latents.shape == (32, 256)
    # The Perceiver's MLPs have Perceiver IO's widening (1), each its own field; AlphaStar's 1024 is the transformer's.
    assert per.encoder.cross_attention.mlp.fc1.out_features == 256
    assert all(
        block.mlp.fc1.out_features == 256 for block in per.encoder.self_attends.modules() if hasattr(block, "mlp")
    )
    assert per.decoder.cross_attention.mlp.fc1.out_features == 256
    wide = PerceiverEntityEncoder(
        46, EntityEncoderConfig(cross_attention_widening_factor=2, self_attention_widening_factor=4)
    )
    assert wide.encoder.cross_attention.mlp.fc1.out_features == 512
    assert {b.mlp.fc1.out_features for b in wide.encoder.self_attends.modules() if hasattr(b, "mlp")} == {1024}


def test_unknown_encoder_and_custom_registration():
    with pytest.raises(ValueError, match="encoder: unknown entity encoder 'nope'"):
        build_entity_encoder("nope", F, CFG)

    @register_entity_encoder("test_mean")
    class MeanEncoder(EntityEncoder):
        def __init__(self, entity_features, config):
            super().__init__(entity_features, config)
            self.proj = torch.nn.Linear(entity_features, config.channels)

        def forward(self, entities, mask):
            x = zero_masked(self.proj(zero_masked(entities, mask)), mask)  # empty slots may hold inf / NaN
            return x, masked_mean(x, mask)

    try:
        enc = build_entity_encoder("test_mean", F, CFG)
        mask = torch.ones(1, 3, dtype=torch.bool)
        assert enc.encode(torch.randn(1, 3, 5), mask).memory.shape == (1, 3, 16)
    finally:
        del ENTITY_ENCODERS["test_mean"]
    with pytest.raises(ValueError, match="not an EntityEncoder subclass"):
        register_entity_encoder("bad")(int)


def test_spatial_encoder_shapes_and_bad_size():
    enc = SpatialEncoder(in_channels=3, spatial_size=(16, 16), channels=(8, 16, 32), num_res_blocks=1, out_channels=24)
    skip, emb = enc(torch.randn(2, 3, 16, 16))
    assert skip.shape == (2, 32, 4, 4) and emb.shape == (2, 24) and enc.stride == 4
    with pytest.raises(ValueError, match="spatial_size"):
        SpatialEncoder(in_channels=3, spatial_size=(10, 16), channels=(8, 16, 32))


def test_spatial_embedding_reads_the_map_skip_pooled_to_embed_size():
    """A map skip larger than ``embed_size`` a side is average-pooled before the Linear to the embedding; one
    no larger is flattened as it is (the same parameters and function as before the option)."""
    enc = SpatialEncoder(in_channels=3, spatial_size=(64, 64), channels=(8, 16, 32), out_channels=24, embed_size=8)
    assert enc.map_size == (16, 16) and enc.embed.in_features == 32 * 8 * 8
    x = torch.randn(2, 3, 64, 64)
    skip, emb = enc(x)
    assert skip.shape == (2, 32, 16, 16)  # the location head's map skip keeps its resolution
    pooled = torch.nn.functional.avg_pool2d(torch.relu(skip), 2).flatten(1)
    torch.testing.assert_close(emb, torch.relu(enc.embed(pooled)))
    small = SpatialEncoder(in_channels=3, spatial_size=(16, 16), channels=(8, 16, 32), out_channels=24, embed_size=4)
    assert isinstance(small.embed_pool, torch.nn.Identity) and small.embed.in_features == 32 * 4 * 4
    assert "embed_pool" not in "".join(small.state_dict())
    with pytest.raises(ValueError, match="embed_size"):
        SpatialEncoder(in_channels=3, spatial_size=(16, 16), channels=(8, 16, 32), embed_size=0)
