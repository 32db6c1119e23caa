"""The entity-encoder interface and its registry.

An entity encoder maps ``entities (B, N, F)`` and ``mask (B, N)`` bool (True = a real entity) to
``(per_entity (B, N, D), pooled (B, D))``. ``encode`` additionally returns the *memory* that the
query heads decode from: the Perceiver's latent array, or by default the per-entity embeddings
themselves (with the entity mask).

Register a new encoder with ``@register_entity_encoder("name")``; ``PolicyConfig(encoder="name")`` then
builds it from the number of features per entity and an :class:`EntityEncoderConfig`
(``PolicyConfig.entity_encoder``; an experiment's ``model.policy.entity_encoder``, field for field).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from perceiver_rl import zero_masked
from perceiver_rl._checks import MAX_CHANNELS, MAX_HEADS, MAX_LENGTH, MAX_WIDENING

from ..config_values import MAX_LAYERS, MAX_WIDTH, ConfigError, Range, check_range, ranged
from ..registry import Registry


@dataclass
class EntityEncoderConfig:
    """Hyper-parameters every entity encoder receives (each uses the ones that apply to it). The number of
    features per entity is not one of them: it comes from the observation spec (``EntityEncoder.__init__``).

    A value out of its range is refused when the config is built (``ConfigError``, a ``ValueError``:
    ``num_latents: expected in [1, 65,536], got 0``); the upper bounds (the policy's ``MAX_WIDTH`` and
    ``MAX_LAYERS`` of :mod:`agents.nets.config_values`, ``perceiver_rl._checks``' ``MAX_LENGTH``, ``MAX_HEADS`` and
    ``MAX_WIDENING``) are far above any published model and stop a typo (``num_latents=10**9``) before anything
    is allocated."""

    channels: int = ranged(256, ge=1, le=MAX_WIDTH)
    """D: width of the per-entity and pooled outputs (AlphaStar: 256); in [1, 8,192]."""
    num_layers: int = ranged(3, ge=0, le=MAX_LAYERS)
    """Transformer layers / Perceiver latent self-attention layers (AlphaStar: 3); in [0, 1,024] (0: the
    transformer is a per-entity embedding + mean, the Perceiver its cross-attention alone)."""
    num_heads: int = ranged(2, ge=1, le=MAX_HEADS)
    """Attention heads of those layers (AlphaStar: 2); in [1, 1,024]."""
    head_channels: int = ranged(128, ge=1, le=MAX_WIDTH)
    """Key/query/value width per head (AlphaStar: 128); in [1, 8,192], and so is ``num_heads * head_channels``
    (checked when the encoder is built)."""
    widening_factor: int = ranged(4, ge=1, le=MAX_WIDENING)
    """Transformer only: MLP hidden width = widening_factor * D (AlphaStar: 1024 = 4 * 256); in [1, 256]."""
    num_latents: int = ranged(32, ge=1, le=MAX_LENGTH)
    """Perceiver only: length L of the latent array (the paper's SC2 run: 32); in [1, 65,536]."""
    cross_attention_widening_factor: int = ranged(1, ge=1, le=MAX_WIDENING)
    """Perceiver only: MLP widening of the cross-attention from the entities into the latents (Perceiver IO: 1);
    in [1, 256]."""
    self_attention_widening_factor: int = ranged(1, ge=1, le=MAX_WIDENING)
    """Perceiver only: MLP widening of the latent self-attention layers (Perceiver IO: 1; 4 is AlphaStar's
    transformer MLP, 1024 = 4 * 256: at D=256 it is a quarter of the default policy's FLOPs per action); in
    [1, 256]."""
    decoder_widening_factor: int = ranged(1, ge=1, le=MAX_WIDENING)
    """Perceiver only: MLP widening of the per-entity decoder (Perceiver IO: 1; its cost is linear in N); in
    [1, 256]."""

    def __post_init__(self) -> None:
        # The ranges alone: an experiment's loader checks them first (naming the full key), then the relations.
        for f in dataclasses.fields(self):
            if "range" in f.metadata:
                check_range(f.name, f.metadata["range"], getattr(self, f.name))

    def _relations(self) -> Iterator[tuple[str, str]]:
        # Not ``_cross_checks`` (the loader's): each field's upper bound alone is a valid config.
        width = self.num_heads * self.head_channels
        if width > MAX_WIDTH:
            yield "head_channels", f"expected num_heads * head_channels <= {MAX_WIDTH:,}, got {width:,}"

    def check(self) -> None:
        """Every field in its range and the relations between them (``EntityEncoder.__init__`` calls it, before
        any layer is allocated; a field may have been set after construction); ``ConfigError`` (a ``ValueError``)
        naming the field otherwise."""
        self.__post_init__()
        for key, problem in self._relations():
            raise ConfigError(f"{key}: {problem}")


class EntityEncoding(NamedTuple):
    """What the policy torso takes from an entity encoder."""

    per_entity: torch.Tensor | None
    """(B, N, D), zero in empty slots; None after ``EntityEncoder.skip_per_entity`` where the encoder skips them."""
    pooled: torch.Tensor
    """(B, D)."""
    memory: torch.Tensor
    """(B, Lm, D): what output queries attend to (latents, or the entities)."""
    memory_mask: torch.Tensor | None
    """(B, Lm) bool or None (all valid)."""


class EntityEncoder(nn.Module):
    """Base class: subclasses implement ``forward``; ``encode`` defaults to the entities as memory."""

    def __init__(self, entity_features: int, config: EntityEncoderConfig) -> None:
        """``entity_features`` F: features per entity (the observation's, plus the policy's map-position
        encoding for entities with a position)."""
        super().__init__()
        config.check()  # before any layer is allocated
        check_range("entity_features", Range(ge=1, le=MAX_CHANNELS), entity_features)
        self.entity_features, self.config = entity_features, config

    @property
    def output_channels(self) -> int:
        return self.config.channels

    def forward(self, entities: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
        """``entities (B, N, F)``, ``mask (B, N)`` bool -> ``(per_entity (B, N, D), pooled (B, D))``; ``per_entity``
        is None after :meth:`skip_per_entity` in an encoder that then skips it.

        The empty slots of ``entities`` may hold anything (1e30, inf, NaN): an encoder's outputs and gradients
        must not depend on them. Start with ``entities = zero_masked(entities, mask)`` (``where``, before the
        first layer reads them) and zero ``per_entity`` with ``zero_masked`` too, not with a product."""
        raise NotImplementedError

    def encode(self, entities: torch.Tensor, mask: torch.Tensor) -> EntityEncoding:
        per_entity, pooled = self(entities, mask)
        return EntityEncoding(per_entity, pooled, per_entity, mask)

    def encode_without_per_entity(self, entities: torch.Tensor, mask: torch.Tensor) -> EntityEncoding:
        """``encode`` for a reader of ``pooled`` and ``memory`` alone (the value, in advantage estimation):
        ``per_entity`` may be None. By default ``encode``; an encoder whose per-entity outputs cost a part of their
        own (the Perceiver's decoder) skips it."""
        return self.encode(entities, mask)

    def skip_per_entity(self) -> None:
        """Called once after construction by a torso whose heads read no per-entity embeddings (the action-space
        heads of a token env): an encoder whose per-entity outputs are a part of their own beside the memory (the
        Perceiver's decoder) drops that part, and ``encode`` returns ``per_entity`` None. By default nothing
        changes (the entity embeddings are the memory)."""


ENTITY_ENCODERS: Registry = Registry(
    key="encoder", kind="entity encoder", base=EntityEncoder, decorator="register_entity_encoder"
)
"""name -> EntityEncoder subclass (``PolicyConfig.encoder``)."""


def register_entity_encoder(name: str) -> Callable[[type[EntityEncoder]], type[EntityEncoder]]:
    """Class decorator adding an :class:`EntityEncoder` subclass to ``ENTITY_ENCODERS`` under ``name``."""
    return ENTITY_ENCODERS.register(name)


def build_entity_encoder(name: str, entity_features: int, config: EntityEncoderConfig) -> EntityEncoder:
    return ENTITY_ENCODERS.build(name, entity_features, config)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x (B, N, D)`` averaged over the True slots of ``mask (B, N)`` -> ``(B, D)`` (0 for empty rows); what the
    empty slots hold (inf, NaN) does not matter (``where``, not a product: ``NaN * 0`` is NaN)."""
    count = mask.sum(1, keepdim=True).clamp_min(1).to(x.dtype)  # (B, 1)
    return zero_masked(x, mask).sum(1) / count
