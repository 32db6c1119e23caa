"""Perceiver decoder: output queries cross-attend to the latents, then a linear map."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ._checks import (
    MAX_CHANNELS,
    MAX_HEADS,
    MAX_OUTPUTS,
    MAX_WIDENING,
    SHAPES_FOR_ATTN,
    bounded,
    check_choice,
    check_config,
    check_number,
    check_shape,
)
from .blocks import CrossAttentionBlock


@dataclass
class DecoderConfig:
    """Perceiver decoder hyper-parameters; checked when built (ValueError naming the field), as ``EncoderConfig``."""

    num_latent_channels: int = bounded(1, MAX_CHANNELS)
    """Width D of the latents ``(B, N, D)``; in [1, 65,536]."""
    num_query_channels: int = bounded(1, MAX_CHANNELS)
    """Width Cq of the output queries ``(B, O, Cq)``; in [1, 65,536]."""
    num_output_channels: int | None = bounded(1, MAX_OUTPUTS, None, optional=True)
    """Width of the final Linear, in [1, 1,048,576] (a vocabulary fits); ``None`` returns the attended queries
    ``(B, O, Cq)`` unprojected."""
    num_heads: int = bounded(1, MAX_HEADS, 1)
    """In [1, 1,024]; divides the qk and v widths."""
    qk_channels: int | None = bounded(1, MAX_CHANNELS, None, optional=True)
    """None (set by ``shape_for_attn``) or in [1, 65,536]."""
    v_channels: int | None = bounded(1, MAX_CHANNELS, None, optional=True)
    """None (= the qk width) or in [1, 65,536]."""
    widening_factor: int = bounded(1, MAX_WIDENING, 1)
    """In [1, 256]."""
    shape_for_attn: str = "kv"
    """'kv': qk width = the latents' width (DeepMind's default); 'q': the queries' width."""
    use_query_residual: bool = False
    """DeepMind's BasicDecoder default is off (the ImageNet Fourier/conv configs turn it on)."""
    dropout: float = 0.0
    """In [0, 1)."""

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Every field in its range (again in ``PerceiverDecoder``: a field set after construction)."""
        check_config(self)
        check_choice("shape_for_attn", self.shape_for_attn, SHAPES_FOR_ATTN)
        check_number("dropout", self.dropout, low=0.0, high=1.0, high_open=True)


class PerceiverDecoder(nn.Module):
    """``queries (B, O, Cq)``, ``latents (B, N, D)`` -> ``(B, O, num_output_channels)``."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        config.check()
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
        self.final: nn.Module = nn.Identity()
        if c.num_output_channels is not None:
            self.final = nn.Linear(c.num_query_channels, c.num_output_channels)

    def forward(self, queries: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        check_shape("queries", queries, ("B", "O", self.config.num_query_channels))
        check_shape("latents", latents, (queries.shape[0], "N", self.config.num_latent_channels))
        return self.final(self.cross_attention(queries, latents))
