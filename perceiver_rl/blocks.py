"""Perceiver attention blocks: attention + (optional) query residual + LayerNorm'd MLP residual."""

from __future__ import annotations

import torch
from torch import nn

from ._checks import MAX_CHANNELS, MAX_WIDENING, SHAPES_FOR_ATTN, check_choice, check_int, check_mask, check_shape
from .attention import MultiHeadAttention, zero_masked


class MLP(nn.Module):
    """LayerNorm -> Linear(C, w*C) -> GELU -> Linear(w*C, C). ``(B, N, C) -> (B, N, C)``."""

    def __init__(self, channels: int, widening_factor: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        check_int("channels", channels, 1, MAX_CHANNELS)
        check_int("widening_factor", widening_factor, 1, MAX_WIDENING)
        self.norm = nn.LayerNorm(channels)
        self.fc1 = nn.Linear(channels, widening_factor * channels)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(widening_factor * channels, channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.act(self.fc1(self.norm(x)))))


class CrossAttentionBlock(nn.Module):
    """Queries ``(B, O, q_channels)`` attend to inputs ``(B, M, kv_channels)``; returns ``(B, O, q_channels)``.

    ``x = attn(LN(q), LN(kv)) [+ q if use_query_residual]; x = x + MLP(LN(x))``.
    ``qk_channels`` defaults to ``kv_channels`` (DeepMind's ``shape_for_attn='kv'``) or to
    ``q_channels`` with ``shape_for_attn='q'``.
    """

    def __init__(
        self,
        *,
        q_channels: int,
        kv_channels: int,
        num_heads: int = 1,
        qk_channels: int | None = None,
        v_channels: int | None = None,
        widening_factor: int = 1,
        use_query_residual: bool = True,
        shape_for_attn: str = "kv",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_choice("shape_for_attn", shape_for_attn, SHAPES_FOR_ATTN)
        if qk_channels is None:
            qk_channels = kv_channels if shape_for_attn == "kv" else q_channels
        self.attention = MultiHeadAttention(
            q_channels=q_channels,
            kv_channels=kv_channels,
            num_heads=num_heads,
            qk_channels=qk_channels,
            v_channels=v_channels,
            out_channels=q_channels,
            dropout=dropout,
        )
        self.use_query_residual = use_query_residual
        self.mlp = MLP(q_channels, widening_factor, dropout)

    def forward(self, x_q: torch.Tensor, x_kv: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.attention(x_q, x_kv, mask)
        if self.use_query_residual:
            x = x + x_q
        return x + self.mlp(x)


class SelfAttentionBlock(nn.Module):
    """``(B, N, C) -> (B, N, C)``: ``x = x + attn(LN(x)); x = x + MLP(LN(x))``.

    With a boolean ``mask (B, N)`` (True = a real token), the masked rows of ``x`` are zeroed first
    (:func:`~perceiver_rl.attention.zero_masked`): the rows of the real tokens never depend on what the masked
    rows hold, and the masked rows of the output are finite (those of a zero token), whatever came in.
    """

    def __init__(
        self,
        *,
        channels: int,
        num_heads: int = 8,
        qk_channels: int | None = None,
        v_channels: int | None = None,
        widening_factor: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(
            q_channels=channels,
            kv_channels=channels,
            num_heads=num_heads,
            qk_channels=qk_channels,
            v_channels=v_channels,
            out_channels=channels,
            dropout=dropout,
            self_attention=True,
        )
        self.mlp = MLP(channels, widening_factor, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            check_shape("x", x, ("B", "N", self.attention.q_channels))
            check_mask("mask", mask, x, "x")
            x = zero_masked(x, mask)
        x = x + self.attention(x, mask=mask)
        return x + self.mlp(x)
