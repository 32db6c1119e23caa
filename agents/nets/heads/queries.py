"""Per-action output queries: every head decoded from the shared latent array (our step beyond the paper).

Memory = the entity encoder's memory (Perceiver latents ``(B, L, De)``, or the entities themselves for the
transformer) plus one token projected from the state vector. Two decoder calls:

- stage 1: one learned query per discrete head (``action_type``, ``value``), shifted by the state;
- stage 2, conditioned on the chosen action type (its embedding is added to every query): one learned
  ``queued`` query and the Fourier positions of the coarse location grid (concatenated with the map skip)
  as location queries.

The pointer keys (``selected_units`` / ``target_unit``) are a projection of the per-entity embeddings: those
were already decoded from the latents by the entity encoder, and the action type reaches the pointer logits
through the pointer *query* (the autoregressive embedding). Decoding the N entities a second time cost more
than the rest of the heads together at 512 entities (docs/benchmarks.md, act latency).
"""

from __future__ import annotations

import torch
from torch import nn

from perceiver_rl import CrossAttentionBlock, FourierPositionEncoding, TrainableQueries

from ..torso import TorsoOutput
from .base import ArgumentFeatures, HeadDims, HeadTorso, Stage1, register_heads


@register_heads("queries")
class QueryHeads(HeadTorso):
    def __init__(self, dims: HeadDims) -> None:
        super().__init__(dims)
        d, c = dims, dims.channels

        def decoder() -> CrossAttentionBlock:
            return CrossAttentionBlock(
                q_channels=c, kv_channels=d.entity_channels, num_heads=d.num_heads, shape_for_attn="q"
            )

        self.state_token = nn.Linear(d.state_channels, d.entity_channels)
        self.stage1_queries = TrainableQueries(2, c)  # [action_type, value]
        self.stage1_state = nn.Linear(d.state_channels, c)
        self.stage1_decoder = decoder()
        self.action_type_out = nn.Linear(c, d.num_action_types)
        self.value_out = nn.Linear(c, 1)
        self.queued_query = TrainableQueries(1, c)
        self.entity_keys = nn.Linear(d.entity_channels, c)
        self.grid = FourierPositionEncoding(d.map_size, d.fourier_bands)
        self.location_query = nn.Linear(self.grid.num_channels + d.map_channels, c)
        self.condition = nn.Linear(c, c)
        self.stage2_decoder = decoder()

    def stage1(self, torso: TorsoOutput) -> Stage1:
        b = torso.state.shape[0]
        memory = torch.cat([torso.memory, self.state_token(torso.state)[:, None]], dim=1)
        mask = torso.memory_mask
        if mask is not None:
            mask = torch.cat([mask, mask.new_ones(b, 1)], dim=1)
        queries = self.stage1_queries(b) + self.stage1_state(torso.state)[:, None]
        out = self.stage1_decoder(queries, memory, mask)
        return Stage1(self.action_type_out(out[:, 0]), self.value_out(out[:, 1]).squeeze(-1), memory, mask)

    def stage2(self, torso: TorsoOutput, stage1: Stage1, condition: torch.Tensor) -> ArgumentFeatures:
        b = condition.shape[0]
        assert torso.map_skip is not None  # argument heads serve observations with planes
        cells = torso.map_skip.flatten(2).transpose(1, 2)  # (B, h*w, Cm), row-major
        location = self.location_query(torch.cat([self.grid(b), cells], dim=-1))  # (B, h*w, C)
        queries = torch.cat([self.queued_query(b), location], dim=1) + self.condition(condition)[:, None]
        out = self.stage2_decoder(queries, stage1.memory, stage1.memory_mask)  # (B, 1 + h*w, C)
        return ArgumentFeatures(out[:, 0], self.entity_keys(torso.per_entity), out[:, 1:])
