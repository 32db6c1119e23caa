"""Multi-head attention: the one place where ``scaled_dot_product_attention`` is called."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_mask, check_shape


class MultiHeadAttention(nn.Module):
    """LayerNorm'd multi-head attention of queries ``x_q`` over keys/values ``x_kv``.

    ``x_q (B, O, q_channels)``, ``x_kv (B, M, kv_channels)``, optional boolean key-padding ``mask (B, M)``
    (True = attend) -> ``(B, O, out_channels)``.

    Channels follow DeepMind's Perceiver: ``qk_channels`` defaults to ``q_channels``, ``v_channels`` to
    ``qk_channels``, ``out_channels`` to ``q_channels``. Logits are scaled by ``1/sqrt(qk_channels/heads)``.
    A query row whose keys are all masked returns zeros (never NaN).

    ``self_attention=True`` shares one LayerNorm between the query and key/value side (``x_kv`` is
    then ignored and ``x_q`` attends to itself), as in DeepMind's self-attention module.
    """

    def __init__(
        self,
        *,
        q_channels: int,
        kv_channels: int,
        num_heads: int = 1,
        qk_channels: int | None = None,
        v_channels: int | None = None,
        out_channels: int | None = None,
        dropout: float = 0.0,
        self_attention: bool = False,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        qk_channels = qk_channels or q_channels
        v_channels = v_channels or qk_channels
        out_channels = out_channels or q_channels
        for label, c in (("qk_channels", qk_channels), ("v_channels", v_channels)):
            if c % num_heads:
                raise ValueError(f"{label}={c} is not divisible by num_heads={num_heads}")
        if self_attention and kv_channels != q_channels:
            raise ValueError(f"self-attention needs kv_channels == q_channels, got {kv_channels} != {q_channels}")
        self.q_channels, self.kv_channels = q_channels, kv_channels
        self.num_heads, self.dropout, self.self_attention = num_heads, dropout, self_attention
        self.q_norm = nn.LayerNorm(q_channels, eps=layer_norm_eps)
        self.kv_norm = None if self_attention else nn.LayerNorm(kv_channels, eps=layer_norm_eps)
        self.q_proj = nn.Linear(q_channels, qk_channels)
        self.k_proj = nn.Linear(kv_channels, qk_channels)
        self.v_proj = nn.Linear(kv_channels, v_channels)
        self.o_proj = nn.Linear(v_channels, out_channels)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        return x.view(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def forward(
        self, x_q: torch.Tensor, x_kv: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        check_shape("x_q", x_q, ("B", "O", self.q_channels))
        q_in = self.q_norm(x_q)
        if self.self_attention:
            kv_in, x_kv = q_in, x_q
        else:
            if x_kv is None:
                raise ValueError("x_kv: required for cross-attention, got None")
            check_shape("x_kv", x_kv, (x_q.shape[0], "M", self.kv_channels))
            kv_in = self.kv_norm(x_kv)
        check_mask("mask", mask, x_kv, "x_kv")

        q, k, v = self._heads(self.q_proj(q_in)), self._heads(self.k_proj(kv_in)), self._heads(self.v_proj(kv_in))
        attn_mask = empty_rows = None
        if mask is not None:
            empty_rows = ~mask.any(dim=1)  # (B,)
            # Give fully masked rows one dummy key so softmax stays finite; their output is zeroed below.
            safe = mask | empty_rows[:, None]
            attn_mask = safe[:, None, None, :]  # (B, 1, 1, M) broadcast over heads and queries
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        b, h, o, d = out.shape
        out = self.o_proj(out.transpose(1, 2).reshape(b, o, h * d))
        if empty_rows is not None:
            out = out.masked_fill(empty_rows[:, None, None], 0.0)
        return out
