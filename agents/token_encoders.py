"""Token-set encoders for the Gym token envs: ``(tokens (B, N, F), mask (B, N)) -> (B, Q, D)``.

One feature vector per output query ``Q`` (one query per action head plus one for the value). The
Perceiver answers each query with its own cross-attention read-out of the latents (per-action output
queries); the transformer and MLP baselines pool once and give every query the same vector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from perceiver_rl import (
    DecoderConfig,
    EncoderConfig,
    PerceiverDecoder,
    PerceiverEncoder,
    SelfAttentionBlock,
    TrainableQueries,
)

from .registry import Registry

if TYPE_CHECKING:
    from .token_net import TokenNetConfig


class PerceiverTokenEncoder(nn.Module):
    """Embed tokens -> cross-attend into ``num_latents`` -> self-attend -> decode ``num_queries`` learned queries."""

    def __init__(self, *, num_tokens: int, token_features: int, num_queries: int, cfg: TokenNetConfig) -> None:
        super().__init__()
        d = cfg.latent_channels
        self.embed = nn.Linear(token_features, d)
        self.encoder = PerceiverEncoder(
            EncoderConfig(
                num_input_channels=d,
                num_latents=cfg.num_latents,
                num_latent_channels=d,
                num_self_attention_heads=cfg.num_heads,
                num_self_attends_per_block=cfg.num_self_attends,
            )
        )
        self.queries = TrainableQueries(num_queries, d)
        self.decoder = PerceiverDecoder(DecoderConfig(num_latent_channels=d, num_query_channels=d, use_query_residual=True))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        latents = self.encoder(self.embed(tokens), mask)
        return self.decoder(self.queries(tokens.shape[0]), latents)


class TransformerTokenEncoder(nn.Module):
    """Embed tokens -> ``num_self_attends`` masked self-attention layers -> masked mean, one vector for all queries."""

    def __init__(self, *, num_tokens: int, token_features: int, num_queries: int, cfg: TokenNetConfig) -> None:
        super().__init__()
        d = cfg.latent_channels
        self.num_queries = num_queries
        self.embed = nn.Linear(token_features, d)
        self.layers = nn.ModuleList(SelfAttentionBlock(channels=d, num_heads=cfg.num_heads) for _ in range(cfg.num_self_attends))
        self.norm = nn.LayerNorm(d)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x, mask)
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = self.norm((x * m).sum(1) / m.sum(1).clamp(min=1.0))
        return pooled.unsqueeze(1).expand(-1, self.num_queries, -1)


class MLPTokenEncoder(nn.Module):
    """Flatten the masked token set -> 2-layer MLP: the baseline with no set structure."""

    def __init__(self, *, num_tokens: int, token_features: int, num_queries: int, cfg: TokenNetConfig) -> None:
        super().__init__()
        self.num_queries = num_queries
        self.net = nn.Sequential(
            nn.Linear(num_tokens * token_features, cfg.hidden),
            nn.Tanh(),
            nn.Linear(cfg.hidden, cfg.latent_channels),
            nn.Tanh(),
        )

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = (tokens * mask.unsqueeze(-1).to(tokens.dtype)).flatten(1)
        return self.net(x).unsqueeze(1).expand(-1, self.num_queries, -1)


TOKEN_ENCODERS: Registry = Registry(key="encoder", kind="token encoder", base=nn.Module, decorator="TOKEN_ENCODERS.register")
"""name -> token encoder class (``TokenNetConfig.encoder``)."""
TOKEN_ENCODERS.update(perceiver=PerceiverTokenEncoder, transformer=TransformerTokenEncoder, mlp=MLPTokenEncoder)
