"""The policy torso of the one policy family: entity encoder (+ spatial and scalar encoders where the
observation has planes and scalars), fused, then an optional LSTM core.

Structured SC2-style observations (:class:`~envs.spec.ObservationSpec`) have all three parts; a token env's
observation (:class:`~envs.spec.TokenSpec`) is an entity list alone, so its torso has no spatial or scalar
encoder (``spatial_encoder`` / ``scalar_encoder`` are None and ``map_skip`` is None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from envs.spec import ObservationSpec, TokenSpec
from perceiver_rl import zero_masked

from .core import LSTMCore, State
from .encoders import ScalarEncoder, SpatialEncoder, build_entity_encoder
from .map_position import MapPositionEncoding

if TYPE_CHECKING:
    from .policy import PolicyConfig


@dataclass
class TorsoOutput:
    """Everything the heads read. Shapes for a flat batch B (time already folded in)."""

    per_entity: torch.Tensor | None
    """(B, N, De) entity embeddings, zero in empty slots; None where the entity encoder skips them (token envs)."""
    entity_mask: torch.Tensor
    """(B, N) bool."""
    memory: torch.Tensor
    """(B, Lm, De): what output queries attend to (Perceiver latents, or the entities)."""
    memory_mask: torch.Tensor | None
    """(B, Lm) bool or None."""
    map_skip: torch.Tensor | None
    """(B, Cm, H/s, W/s) spatial encoder output; None without planes."""
    state: torch.Tensor
    """(B, Dc) fused (and LSTM'd) state vector."""
    lead: tuple[int, ...] | None = None
    """The leading dims ``(B,)`` or ``(B, T)`` that the flat rows fold (what a head's output is reshaped to)."""


class Torso(nn.Module):
    """Prepared observation tensors (leading dims ``(B,)`` or ``(B, T)``) -> :class:`TorsoOutput` over B*T rows."""

    def __init__(
        self,
        *,
        obs_spec: ObservationSpec | TokenSpec,
        config: PolicyConfig,
        positions: MapPositionEncoding | None,
    ) -> None:
        """Sizes from the policy's ``config`` (``encoder``, ``entity_encoder``, ``spatial_*``, ``scalar_channels``,
        ``state_channels``, ``lstm``, ``lstm_layers``). The entity encoder sees the observation's ``F`` features
        plus ``positions.num_channels`` per map position an entity has (``obs_spec.entity_position``, and
        ``entity_target_position``), appended in ``forward``. A :class:`TokenSpec` observation (tokens are
        entities without map positions) builds no spatial or scalar encoder (their sizes and ``positions`` are
        not used), and its heads read no per-entity embeddings (``EntityEncoder.skip_per_entity``)."""
        super().__init__()
        structured = isinstance(obs_spec, ObservationSpec)
        self.positions = positions
        self.entity_position: tuple[int, int] | None = None
        self.entity_target: tuple[int, int, int] | None = None
        if isinstance(obs_spec, ObservationSpec):
            self.entity_position, self.entity_target = obs_spec.entity_position, obs_spec.entity_target_position
            features = obs_spec.entity_features
        else:
            features = obs_spec.token_features
        num_positions = (self.entity_position is not None) + (self.entity_target is not None)
        if num_positions:
            assert positions is not None, "positions: required for entities with map positions"
            features += num_positions * positions.num_channels
        c = config
        self.entity_encoder = build_entity_encoder(c.encoder, features, c.entity_encoder)
        if not structured:  # action-space heads read the memory and the state, no per-entity embeddings
            self.entity_encoder.skip_per_entity()
        self.spatial_encoder: SpatialEncoder | None = None
        self.scalar_encoder: ScalarEncoder | None = None
        fused = self.entity_encoder.output_channels
        if isinstance(obs_spec, ObservationSpec):
            self.spatial_encoder = SpatialEncoder(
                in_channels=obs_spec.spatial_channels,
                spatial_size=obs_spec.spatial_size,
                channels=c.spatial_channels,
                num_res_blocks=c.spatial_res_blocks,
                pool=c.spatial_pool,
                input_pool=obs_spec.plane_pool,
                embed_size=c.spatial_embed_size,
                out_channels=c.state_channels,
            )
            self.scalar_encoder = ScalarEncoder(in_features=obs_spec.num_scalars, out_channels=c.scalar_channels)
            fused += c.state_channels + c.scalar_channels
        self.fuse = nn.Linear(fused, c.state_channels)
        self.core = LSTMCore(channels=c.state_channels, num_layers=c.lstm_layers) if c.lstm else None
        self.state_channels = c.state_channels

    def entity_xy(self, entities: torch.Tensor) -> torch.Tensor:
        """``entities (B, N, F)`` -> ``(B, N, 2)`` their map positions (``obs_spec.entity_position`` columns)."""
        assert self.entity_position is not None
        return entities[..., list(self.entity_position)]

    def forward(
        self, obs: dict[str, torch.Tensor], lead: tuple[int, ...], state: State | None, *, per_entity: bool = True
    ) -> tuple[TorsoOutput, State | None]:
        """``obs`` already flattened to ``(B*T, ...)``; ``lead`` = ``(B,)`` or ``(B, T)``. ``per_entity=False``: for
        a reader of the state alone (the value), the entity encoder may leave ``per_entity`` None."""
        # padded slots may hold anything (inf, NaN): zeroed before any layer reads them, custom encoders included
        entities = zero_masked(obs["entities"], obs["entity_mask"].bool())
        extra = []
        positions = self.positions  # not None where entities have map positions (checked in __init__)
        if self.entity_position is not None:
            assert positions is not None
            extra.append(positions.entities(self.entity_xy(entities)))
        if self.entity_target is not None:
            assert positions is not None
            known, tx, ty = self.entity_target
            extra.append(positions.entities(entities[..., [tx, ty]]) * entities[..., known, None])
        if extra:
            entities = torch.cat([entities, *extra], dim=-1)
        encode = self.entity_encoder.encode if per_entity else self.entity_encoder.encode_without_per_entity
        enc = encode(entities, obs["entity_mask"])
        parts, map_skip = [enc.pooled], None
        if self.spatial_encoder is not None:
            assert self.scalar_encoder is not None  # built together with the spatial encoder
            map_skip, spatial = self.spatial_encoder(obs["spatial"])
            parts += [spatial, self.scalar_encoder(obs["scalars"])]
        x = torch.relu(self.fuse(torch.cat(parts, dim=-1)))
        new_state = None
        if self.core is not None:
            seq = x.reshape(lead[0], -1, x.shape[-1])  # (B, T, C); T = 1 for a single step
            y, new_state = self.core(seq, state)
            x = y.reshape(-1, y.shape[-1])
        elif state is not None:
            raise ValueError("state: this policy has no LSTM core (PolicyConfig.lstm=False), got a state")
        out = TorsoOutput(enc.per_entity, obs["entity_mask"], enc.memory, enc.memory_mask, map_skip, x, lead)
        return out, new_state
