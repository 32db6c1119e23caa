"""AlphaStar's entity encoder: a transformer over the entities (3 layers, 2 heads, 128-d keys, MLP 1024)."""

from __future__ import annotations

import torch
from torch import nn

from perceiver_rl import SelfAttentionBlock, zero_masked

from .base import EntityEncoder, EntityEncoderConfig, masked_mean, register_entity_encoder


@register_entity_encoder("transformer")
class TransformerEntityEncoder(EntityEncoder):
    """Embed -> ``num_layers`` masked self-attention blocks over all N entities (cost O(N^2 D)).

    Outputs as in AlphaStar: ``per_entity = ReLU(Conv1D(ReLU(x)))`` and
    ``pooled = ReLU(Linear(masked_mean(x)))``. The memory for query heads is the entity embeddings.
    Empty slots are zeroed before the embedding: what they hold never reaches an output or a gradient.
    """

    def __init__(self, entity_features: int, config: EntityEncoderConfig) -> None:
        super().__init__(entity_features, config)
        c = config
        self.embed = nn.Linear(entity_features, c.channels)
        self.layers = nn.ModuleList(
            SelfAttentionBlock(
                channels=c.channels,
                num_heads=c.num_heads,
                qk_channels=c.num_heads * c.head_channels,
                v_channels=c.num_heads * c.head_channels,
                widening_factor=c.widening_factor,
            )
            for _ in range(c.num_layers)
        )
        self.entity_out = nn.Linear(c.channels, c.channels)  # AlphaStar's Conv1D(kernel 1)
        self.pool_out = nn.Linear(c.channels, c.channels)

    def forward(self, entities: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embed(zero_masked(entities, mask))  # empty slots may hold anything (inf, NaN): read as zeros
        for layer in self.layers:
            x = layer(x, mask)
        per_entity = zero_masked(torch.relu(self.entity_out(torch.relu(x))), mask)
        pooled = torch.relu(self.pool_out(masked_mean(x, mask)))
        return per_entity, pooled
