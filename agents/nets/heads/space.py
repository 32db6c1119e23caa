"""Action-space heads: the heads of a policy whose action is a Gym action space (``agents.nets.action_space``), for
observations that are an entity list (token envs). The same two styles as the structured heads, under the same
names (``PolicyConfig.heads``):

- ``queries``: one learned output query per action head plus one for the value, shifted by the state vector
  and decoded (one cross-attention) from the torso's memory (Perceiver latents, or the entities for the
  transformer) plus a token projected from the state vector, as the structured ``queries`` heads' first stage;
- ``mlp``: an MLP from the state vector per action head and for the value.

``forward(torso) -> (outputs (B, sum(head_sizes)), value (B,))``: the action heads' outputs concatenated
(logits, or Gaussian means), for :meth:`agents.nets.action_space.SpaceActions.dist_inputs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from perceiver_rl import CrossAttentionBlock, TrainableQueries

from ..registry import Registry
from ..torso import TorsoOutput


@dataclass
class SpaceHeadDims:
    """Sizes action-space heads are built from."""

    head_sizes: list[int]
    """Output width of each action head (``SpaceActions.head_sizes``)."""
    entity_channels: int
    """De: width of the torso's memory."""
    state_channels: int
    """Dc: width of the state vector."""
    channels: int
    """C: width of the head features (``PolicyConfig.head_channels``)."""
    num_heads: int
    """Attention heads of the query decoder (``PolicyConfig.head_attention_heads``)."""


class SpaceHeads(nn.Module):
    """Base class; subclasses implement ``forward``. Action outputs start small (weights N(0, 0.01), bias 0): a
    near-uniform first policy."""

    def __init__(self, dims: SpaceHeadDims) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, torso: TorsoOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """-> ``(outputs (B, sum(head_sizes)), value (B,))``."""
        raise NotImplementedError

    @staticmethod
    def small(layer: nn.Linear) -> nn.Linear:
        nn.init.normal_(layer.weight, std=0.01)
        nn.init.zeros_(layer.bias)
        return layer


ACTION_SPACE_HEADS: Registry = Registry(
    key="heads", kind="action-space heads", base=SpaceHeads, decorator="register_space_heads"
)
"""name -> SpaceHeads subclass (``PolicyConfig.heads`` of a policy over a Gym action space)."""


def register_space_heads(name: str) -> Callable[[type[SpaceHeads]], type[SpaceHeads]]:
    """Class decorator adding a :class:`SpaceHeads` subclass to ``ACTION_SPACE_HEADS`` under ``name``."""
    return ACTION_SPACE_HEADS.register(name)


@register_space_heads("queries")
class SpaceQueryHeads(SpaceHeads):
    """Per-action output queries: query ``i`` decodes action head ``i``, the last one the value."""

    def __init__(self, dims: SpaceHeadDims) -> None:
        super().__init__(dims)
        d, c = dims, dims.channels
        self.state_token = nn.Linear(d.state_channels, d.entity_channels)
        self.queries = TrainableQueries(len(d.head_sizes) + 1, c)
        self.query_state = nn.Linear(d.state_channels, c)
        self.decoder = CrossAttentionBlock(
            q_channels=c, kv_channels=d.entity_channels, num_heads=d.num_heads, shape_for_attn="q"
        )
        self.action_out = nn.ModuleList(self.small(nn.Linear(c, n)) for n in d.head_sizes)
        self.value_out = nn.Linear(c, 1)

    def forward(self, torso: TorsoOutput) -> tuple[torch.Tensor, torch.Tensor]:
        b = torso.state.shape[0]
        memory = torch.cat([torso.memory, self.state_token(torso.state)[:, None]], dim=1)
        mask = torso.memory_mask
        if mask is not None:
            mask = torch.cat([mask, mask.new_ones(b, 1)], dim=1)
        out = self.decoder(self.queries(b) + self.query_state(torso.state)[:, None], memory, mask)  # (B, H+1, C)
        outputs = torch.cat([head(out[:, i]) for i, head in enumerate(self.action_out)], dim=-1)
        return outputs, self.value_out(out[:, -1]).squeeze(-1)


@register_space_heads("mlp")
class SpaceMLPHeads(SpaceHeads):
    """``Linear -> ReLU -> Linear`` on the state vector, per action head and for the value."""

    def __init__(self, dims: SpaceHeadDims) -> None:
        super().__init__(dims)
        d, c = dims, dims.channels

        def mlp(out: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(d.state_channels, c), nn.ReLU(), nn.Linear(c, out))

        heads = [mlp(n) for n in d.head_sizes]
        self.action_out = nn.ModuleList(heads)
        for head in heads:
            last = head[-1]
            assert isinstance(last, nn.Linear)
            self.small(last)
        self.value_out = mlp(1)

    def forward(self, torso: TorsoOutput) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = torch.cat([head(torso.state) for head in self.action_out], dim=-1)
        return outputs, self.value_out(torso.state).squeeze(-1)


def build_space_heads(name: str, dims: SpaceHeadDims) -> SpaceHeads:
    return ACTION_SPACE_HEADS.build(name, dims)
