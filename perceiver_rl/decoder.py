"""Perceiver decoder: output queries cross-attend to the latents, then a linear map."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ._checks import check_shape
from .blocks import CrossAttentionBlock


@dataclass
class DecoderConfig:
    """Perceiver decoder hyper-parameters."""

    num_latent_channels: int
    """Width D of the latents ``(B, N, D)``."""
    num_query_channels: int
    """Width Cq of the output queries ``(B, O, Cq)``."""
    num_output_channels: int | None = None
    """Width of the final Linear; ``None`` returns the attended queries ``(B, O, Cq)`` unprojected."""
    num_heads: int = 1
    qk_channels: int | None = None
    v_channels: int | None = None
    widening_factor: int = 1
    shape_for_attn: str = "kv"
    use_query_residual: bool = False
    """DeepMind's BasicDecoder default is off (the ImageNet Fourier/conv configs turn it on)."""
    dropout: float = 0.0


class PerceiverDecoder(nn.Module):
    """``queries (B, O, Cq)``, ``latents (B, N, D)`` -> ``(B, O, num_output_channels)``."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        c = self.config = config
        self.cross_attention = CrossAttentionBlock(
            q_channels=c.num_query_channels,
            kv_channels=c.num_latent_channels,
            num_heads=c.num_heads,
            qk_channels=c.qk_channels,
            v_channels=c.v_channels,
            widening_factor=c.widening_factor,
            use_query_residual=c.use_query_residual,
            shape_for_attn=c.shape_for_attn,
            dropout=c.dropout,
        )
        self.final = nn.Linear(c.num_query_channels, c.num_output_channels) if c.num_output_channels else nn.Identity()

    def forward(self, queries: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        check_shape("queries", queries, ("B", "O", self.config.num_query_channels))
        check_shape("latents", latents, (queries.shape[0], "N", self.config.num_latent_channels))
        return self.final(self.cross_attention(queries, latents))
