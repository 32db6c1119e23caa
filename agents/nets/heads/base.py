"""The head-torso interface (``queries`` | ``mlp``) and its registry.

A head torso turns the :class:`~agents.nets.torso.TorsoOutput` into the features the shared autoregressive
argument heads consume, in two stages:

- ``stage1(torso) -> Stage1``: action-type logits ``(B, K)`` (unmasked) and the value ``(B,)``;
- ``stage2(torso, stage1, condition) -> ArgumentFeatures``: features conditioned on the chosen action
  type's embedding ``condition (B, C)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..registry import Registry
from ..torso import TorsoOutput


@dataclass
class HeadDims:
    """Sizes a head torso is built from."""

    num_action_types: int
    """K."""
    entity_channels: int
    """De: width of the per-entity embeddings and of the memory."""
    map_channels: int
    """Cm: channels of the spatial map skip."""
    map_size: tuple[int, int]
    """(h, w) of the map skip: the coarse location grid."""
    state_channels: int
    """Dc: width of the state vector."""
    channels: int = 128
    """C: width of the head features and of the autoregressive embedding."""
    num_heads: int = 2
    """Attention heads of the query decoders."""
    fourier_bands: int = 8
    """Fourier bands of the location queries' grid positions."""


@dataclass
class Stage1:
    action_type_logits: torch.Tensor
    """(B, K), before legality masking."""
    value: torch.Tensor
    """(B,)."""
    memory: torch.Tensor | None = None
    """(B, Lm, De) what stage 2 decodes from (query heads), else None."""
    memory_mask: torch.Tensor | None = None


@dataclass
class ArgumentFeatures:
    queued: torch.Tensor
    """(B, C)."""
    entity_keys: torch.Tensor
    """(B, N, C): pointer keys of the entities (selected_units and target_unit)."""
    location: torch.Tensor
    """(B, h*w, C): one feature per coarse grid cell, row-major."""


class HeadTorso(nn.Module):
    def __init__(self, dims: HeadDims) -> None:
        super().__init__()
        self.dims = dims

    def stage1(self, torso: TorsoOutput) -> Stage1:
        raise NotImplementedError

    def stage2(self, torso: TorsoOutput, stage1: Stage1, condition: torch.Tensor) -> ArgumentFeatures:
        raise NotImplementedError


HEAD_TORSOS: Registry = Registry(key="heads", kind="head torso", base=HeadTorso, decorator="register_heads")
"""name -> HeadTorso subclass (``PolicyConfig.heads``)."""


def register_heads(name: str) -> Callable[[type[HeadTorso]], type[HeadTorso]]:
    """Class decorator adding a :class:`HeadTorso` subclass to ``HEAD_TORSOS`` under ``name``."""
    return HEAD_TORSOS.register(name)


def build_heads(name: str, dims: HeadDims) -> HeadTorso:
    return HEAD_TORSOS.build(name, dims)
