"""AlphaStar-style heads: MLPs on the state vector, Conv1D pointer keys, 1x1 conv over the map skip."""

from __future__ import annotations

import torch
from torch import nn

from ..torso import TorsoOutput
from .base import ArgumentFeatures, HeadDims, HeadTorso, Stage1, register_heads


@register_heads("mlp")
class MLPHeads(HeadTorso):
    """The chosen action type reaches the arguments through the autoregressive embedding only."""

    def __init__(self, dims: HeadDims) -> None:
        super().__init__(dims)
        d, c = dims, dims.channels
        self.action_type = nn.Sequential(nn.Linear(d.state_channels, c), nn.ReLU(), nn.Linear(c, d.num_action_types))
        self.value = nn.Sequential(nn.Linear(d.state_channels, c), nn.ReLU(), nn.Linear(c, 1))
        self.queued = nn.Linear(d.state_channels, c)
        self.entity_keys = nn.Linear(d.entity_channels, c)
        self.location = nn.Conv2d(d.map_channels, c, 1)

    def stage1(self, torso: TorsoOutput) -> Stage1:
        return Stage1(self.action_type(torso.state), self.value(torso.state).squeeze(-1))

    def stage2(self, torso: TorsoOutput, stage1: Stage1, condition: torch.Tensor) -> ArgumentFeatures:
        assert torso.map_skip is not None  # argument heads serve observations with planes
        location = self.location(torch.relu(torso.map_skip)).flatten(2).transpose(1, 2)
        return ArgumentFeatures(self.queued(torso.state), self.entity_keys(torso.per_entity), location)
