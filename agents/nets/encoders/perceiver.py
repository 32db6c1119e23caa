"""Perceiver IO entity encoder: entities -> L latents -> entities (cost linear in N)."""

from __future__ import annotations

import torch
from torch import nn

from perceiver_rl import DecoderConfig, EncoderConfig, PerceiverDecoder, PerceiverEncoder, zero_masked

from .base import EntityEncoder, EntityEncoderConfig, EntityEncoding, register_entity_encoder


@register_entity_encoder("perceiver")
class PerceiverEntityEncoder(EntityEncoder):
    """Embed -> cross-attend into ``num_latents`` latents -> ``num_layers`` latent self-attention layers ->
    decode with the embedded entities as output queries. Every MLP has Perceiver IO's widening by default (1:
    ``cross_attention_widening_factor``, ``self_attention_widening_factor``, ``decoder_widening_factor``).

    ``per_entity`` is the decoder's output (Perceiver IO's decoder: cross-attention with query residual, then
    its MLP, widening ``decoder_widening_factor``), zero in empty slots: the heads project it further, so
    AlphaStar's extra per-entity ``ReLU(Conv1D(ReLU(.)))`` is left out (at 512 entities it cost as much as
    the decoder's attention). ``pooled = ReLU(Linear(mean(latents)))``; the memory for query heads is the
    latent array ``(B, L, D)`` (no mask). :meth:`skip_per_entity` drops the decoder (``per_entity`` None).
    Empty slots are zeroed before the embedding: what they hold never reaches an output or a gradient.
    """

    def __init__(self, entity_features: int, config: EntityEncoderConfig) -> None:
        super().__init__(entity_features, config)
        c = config
        self.embed = nn.Linear(entity_features, c.channels)
        self.encoder = PerceiverEncoder(
            EncoderConfig(
                num_input_channels=c.channels,
                num_latents=c.num_latents,
                num_latent_channels=c.channels,
                num_cross_attention_heads=1,
                num_self_attention_heads=c.num_heads,
                num_self_attends_per_block=c.num_layers,
                cross_attention_widening_factor=c.cross_attention_widening_factor,
                self_attention_widening_factor=c.self_attention_widening_factor,
                qk_channels=c.num_heads * c.head_channels,
                v_channels=c.num_heads * c.head_channels,
            )
        )
        self.decoder: PerceiverDecoder | None = PerceiverDecoder(
            DecoderConfig(
                num_latent_channels=c.channels,
                num_query_channels=c.channels,
                num_output_channels=None,
                num_heads=1,
                widening_factor=c.decoder_widening_factor,
                use_query_residual=True,
            )
        )
        self.pool_out = nn.Linear(c.channels, c.channels)

    def skip_per_entity(self) -> None:
        self.decoder = None

    def encode(self, entities: torch.Tensor, mask: torch.Tensor) -> EntityEncoding:
        return self._encode(entities, mask, decode=self.decoder is not None)

    def encode_without_per_entity(self, entities: torch.Tensor, mask: torch.Tensor) -> EntityEncoding:
        return self._encode(entities, mask, decode=False)  # no decoder: half the value pass at 48 entities

    def _encode(self, entities: torch.Tensor, mask: torch.Tensor, decode: bool) -> EntityEncoding:
        x = self.embed(zero_masked(entities, mask))  # empty slots may hold anything (inf, NaN): read as zeros
        latents = self.encoder(x, mask)
        per_entity = None
        if decode and self.decoder is not None:
            per_entity = zero_masked(self.decoder(x, latents), mask)
        pooled = torch.relu(self.pool_out(latents.mean(1)))
        return EntityEncoding(per_entity, pooled, latents, None)

    def forward(self, entities: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        enc = self.encode(entities, mask)
        return enc.per_entity, enc.pooled
