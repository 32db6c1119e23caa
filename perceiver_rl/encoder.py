"""Perceiver encoder: learned latents cross-attend to the inputs once, then self-attend."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import (
    MAX_CHANNELS,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LENGTH,
    MAX_WIDENING,
    SHAPES_FOR_ATTN,
    bounded,
    check_choice,
    check_config,
    check_number,
    check_positive,
    check_shape,
)
from .blocks import CrossAttentionBlock, SelfAttentionBlock


@dataclass
class EncoderConfig:
    """Perceiver encoder hyper-parameters (DeepMind's names in brackets). Checked when built (ValueError naming
    the field: ``num_latents: expected in [1, 65,536], got 0``), before anything is allocated; the bounds are
    :mod:`perceiver_rl._checks`' ``MAX_*``, far above any published model."""

    num_input_channels: int = bounded(1, MAX_CHANNELS)
    """Width C of the (adapted) inputs ``(B, M, C)``; in [1, 65,536]."""
    num_latents: int = bounded(1, MAX_LENGTH, 256)
    """Latent array length N [z_index_dim]; in [1, 65,536] (no latents: an output that ignores its input)."""
    num_latent_channels: int = bounded(1, MAX_CHANNELS, 512)
    """Latent width D [num_z_channels]; in [1, 65,536]."""
    num_cross_attention_heads: int = bounded(1, MAX_HEADS, 1)
    """In [1, 1,024]; divides the cross-attention's qk and v widths."""
    num_self_attention_heads: int = bounded(1, MAX_HEADS, 8)
    """In [1, 1,024]; divides the self-attention's qk and v widths."""
    num_blocks: int = bounded(0, MAX_LAYERS, 1)
    """How many times the self-attention stack is applied (weights shared across blocks); in [0, 1,024]."""
    num_self_attends_per_block: int = bounded(0, MAX_LAYERS, 6)
    """Self-attention layers of the stack; in [0, 1,024] (0: the cross-attention alone)."""
    cross_attention_widening_factor: int = bounded(1, MAX_WIDENING, 1)
    """In [1, 256]."""
    self_attention_widening_factor: int = bounded(1, MAX_WIDENING, 1)
    """In [1, 256]."""
    cross_attention_shape_for_attn: str = "kv"
    """'kv': cross-attention qk width = input width (DeepMind default); 'q': latent width."""
    qk_channels: int | None = bounded(1, MAX_CHANNELS, None, optional=True)
    """None (the defaults above) or in [1, 65,536]."""
    v_channels: int | None = bounded(1, MAX_CHANNELS, None, optional=True)
    """None (= the qk width) or in [1, 65,536]."""
    use_query_residual: bool = True
    dropout: float = 0.0
    """In [0, 1)."""
    init_scale: float = 0.02
    """Standard deviation of the latents' (truncated normal) initialisation; finite, > 0."""

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Every field in its range (again in ``PerceiverEncoder``: a field set after construction)."""
        check_config(self)
        check_choice("cross_attention_shape_for_attn", self.cross_attention_shape_for_attn, SHAPES_FOR_ATTN)
        check_number("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        check_positive("init_scale", self.init_scale)

    @classmethod
    def from_task(cls, task_config: object, num_input_channels: int) -> EncoderConfig:
        """The encoder of a task head: every field that ``task_config`` (e.g. an ``ImageClassifierConfig``)
        names the same way is taken from it, the rest keep their defaults."""
        names = {f.name for f in dataclasses.fields(cls)} - {"num_input_channels"}
        shared = {n: getattr(task_config, n) for n in names if hasattr(task_config, n)}
        return cls(num_input_channels=num_input_channels, **shared)


class PerceiverEncoder(nn.Module):
    """``(B, M, C)`` inputs (+ boolean ``mask (B, M)``, True = valid) -> ``(B, N, D)`` latents."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        config.check()
        c = self.config = config
        self.latents = nn.Parameter(torch.empty(c.num_latents, c.num_latent_channels))
        nn.init.trunc_normal_(self.latents, std=c.init_scale, a=-2 * c.init_scale, b=2 * c.init_scale)
        self.cross_attention = CrossAttentionBlock(
            q_channels=c.num_latent_channels,
            kv_channels=c.num_input_channels,
            num_heads=c.num_cross_attention_heads,
            qk_channels=c.qk_channels,
            v_channels=c.v_channels,
            widening_factor=c.cross_attention_widening_factor,
            use_query_residual=c.use_query_residual,
            shape_for_attn=c.cross_attention_shape_for_attn,
            dropout=c.dropout,
        )
        self.self_attends = nn.ModuleList(
            SelfAttentionBlock(
                channels=c.num_latent_channels,
                num_heads=c.num_self_attention_heads,
                qk_channels=c.qk_channels,
                v_channels=c.v_channels,
                widening_factor=c.self_attention_widening_factor,
                dropout=c.dropout,
            )
            for _ in range(c.num_self_attends_per_block)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        check_shape("inputs", x, ("B", "M", self.config.num_input_channels))
        z = self.latents.unsqueeze(0).expand(x.shape[0], -1, -1)
        z = self.cross_attention(z, x, mask)
        for _ in range(self.config.num_blocks):
            for layer in self.self_attends:
                z = layer(z)
        return z
