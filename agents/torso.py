"""The policy torso: entity / spatial / scalar encoders, fused, then an optional LSTM core."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from envs.spec import ObservationSpec

from .core import LSTMCore, State
from .encoders import EntityEncoderConfig, ScalarEncoder, SpatialEncoder, build_entity_encoder
from .map_position import MapPositionEncoding


@dataclass
class TorsoOutput:
    """Everything the heads read. Shapes for a flat batch B (time already folded in)."""

    per_entity: torch.Tensor
    """(B, N, De) entity embeddings, zero in empty slots."""
    entity_mask: torch.Tensor
    """(B, N) bool."""
    memory: torch.Tensor
    """(B, Lm, De): what output queries attend to (Perceiver latents, or the entities)."""
    memory_mask: torch.Tensor | None
    """(B, Lm) bool or None."""
    map_skip: torch.Tensor
    """(B, Cm, H/s, W/s) spatial encoder output."""
    state: torch.Tensor
    """(B, Dc) fused (and LSTM'd) state vector."""


class Torso(nn.Module):
    """Prepared observation tensors (leading dims ``(B,)`` or ``(B, T)``) -> :class:`TorsoOutput` over B*T rows."""

    def __init__(
        self,
        *,
        obs_spec: ObservationSpec,
        encoder: str,
        entity_encoder: EntityEncoderConfig,
        spatial_channels: Sequence[int],
        spatial_res_blocks: int,
        spatial_pool: int,
        scalar_channels: int,
        state_channels: int,
        lstm: bool,
        lstm_layers: int,
        positions: MapPositionEncoding,
    ) -> None:
        """The entity encoder ``encoder`` (built from ``entity_encoder``) sees the observation's ``F`` features
        plus ``positions.num_channels`` per map position an entity has (``obs_spec.entity_position``, and
        ``entity_target_position``), appended in ``forward``."""
        super().__init__()
        self.positions, self.entity_position = positions, obs_spec.entity_position
        self.entity_target = obs_spec.entity_target_position
        num_positions = (self.entity_position is not None) + (self.entity_target is not None)
        entity_features = obs_spec.entity_features + num_positions * positions.num_channels
        self.entity_encoder = build_entity_encoder(encoder, entity_features, entity_encoder)
        self.spatial_encoder = SpatialEncoder(
            in_channels=obs_spec.spatial_channels,
            spatial_size=obs_spec.spatial_size,
            channels=spatial_channels,
            num_res_blocks=spatial_res_blocks,
            pool=spatial_pool,
            out_channels=state_channels,
        )
        self.scalar_encoder = ScalarEncoder(in_features=obs_spec.num_scalars, out_channels=scalar_channels)
        fused = self.entity_encoder.output_channels + state_channels + scalar_channels
        self.fuse = nn.Linear(fused, state_channels)
        self.core = LSTMCore(channels=state_channels, num_layers=lstm_layers) if lstm else None
        self.state_channels = state_channels

    def entity_xy(self, entities: torch.Tensor) -> torch.Tensor:
        """``entities (B, N, F)`` -> ``(B, N, 2)`` their map positions (``obs_spec.entity_position`` columns)."""
        return entities[..., list(self.entity_position)]

    def forward(
        self, obs: dict[str, torch.Tensor], lead: tuple[int, ...], state: State | None
    ) -> tuple[TorsoOutput, State | None]:
        """``obs`` already flattened to ``(B*T, ...)``; ``lead`` = ``(B,)`` or ``(B, T)``."""
        entities = obs["entities"]
        extra = []
        if self.entity_position is not None:
            extra.append(self.positions.entities(self.entity_xy(entities)))
        if self.entity_target is not None:
            known, x, y = self.entity_target
            extra.append(self.positions.entities(entities[..., [x, y]]) * entities[..., known, None])
        if extra:
            entities = torch.cat([entities, *extra], dim=-1)
        enc = self.entity_encoder.encode(entities, obs["entity_mask"])
        map_skip, spatial = self.spatial_encoder(obs["spatial"])
        scalars = self.scalar_encoder(obs["scalars"])
        x = torch.relu(self.fuse(torch.cat([enc.pooled, spatial, scalars], dim=-1)))
        new_state = None
        if self.core is not None:
            seq = x.reshape(lead[0], -1, x.shape[-1])  # (B, T, C); T = 1 for a single step
            y, new_state = self.core(seq, state)
            x = y.reshape(-1, y.shape[-1])
        elif state is not None:
            raise ValueError("state: this policy has no LSTM core (PolicyConfig.lstm=False), got a state")
        out = TorsoOutput(enc.per_entity, obs["entity_mask"], enc.memory, enc.memory_mask, map_skip, x)
        return out, new_state
