"""Perceiver encoder: learned latents cross-attend to the inputs once, then self-attend."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import check_shape
from .blocks import CrossAttentionBlock, SelfAttentionBlock


@dataclass
class EncoderConfig:
    """Perceiver encoder hyper-parameters (DeepMind's names in brackets)."""

    num_input_channels: int
    """Width C of the (adapted) inputs ``(B, M, C)``."""
    num_latents: int = 256
    """Latent array length N [z_index_dim]."""
    num_latent_channels: int = 512
    """Latent width D [num_z_channels]."""
    num_cross_attention_heads: int = 1
    num_self_attention_heads: int = 8
    num_blocks: int = 1
    """How many times the self-attention stack is applied (weights shared across blocks)."""
    num_self_attends_per_block: int = 6
    cross_attention_widening_factor: int = 1
    self_attention_widening_factor: int = 1
    cross_attention_shape_for_attn: str = "kv"
    """'kv': cross-attention qk width = input width (DeepMind default); 'q': latent width."""
    qk_channels: int | None = None
    v_channels: int | None = None
    use_query_residual: bool = True
    dropout: float = 0.0
    init_scale: float = 0.02

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
