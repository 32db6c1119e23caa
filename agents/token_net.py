"""Actor-critic over token sets (pure torch; the RLlib module wraps it).

obs ``tokens (B, N, F)`` + ``token_mask (B, N)`` -> token encoder -> one feature per output query
``(B, H+1, D)`` -> [optional LSTM core, broadcast back onto every query] -> H action heads + value head.
Action heads by action space: ``Discrete(n)`` -> n logits; ``MultiDiscrete(nvec)`` -> one query and
``nvec[i]`` logits per component; ``Box(d)`` -> d means (+ a learned, state-independent log-std).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from .config_values import ranged
from .token_encoders import TOKEN_ENCODERS


@dataclass
class TokenNetConfig:
    """Architecture of :class:`TokenActorCritic` (the ``perceiver`` RLModule of the Gym token envs). An
    experiment's ``model.token_net`` section is this config field for field."""

    encoder: str = "perceiver"
    """Token encoder in ``agents.token_encoders.TOKEN_ENCODERS``: ``perceiver`` | ``transformer`` | ``mlp``."""
    num_latents: int = ranged(16, ge=1)
    """Perceiver latent array length."""
    latent_channels: int = ranged(64, ge=1)
    """D: width of the latents / token embeddings / per-query features."""
    num_self_attends: int = ranged(1, ge=0)
    """Self-attention layers on the latents (perceiver) or over tokens (transformer)."""
    num_heads: int = ranged(4, ge=1)
    """Self-attention heads."""
    hidden: int = ranged(128, ge=1)
    """Width of the value head's hidden layer and of the ``mlp`` encoder's."""
    lstm: bool = False
    """Add an LSTM core (stateful module; RLlib trains it on ``model.max_seq_len`` chunks)."""

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if self.latent_channels % self.num_heads:
            yield "num_heads", f"expected a divisor of latent_channels ({self.latent_channels}), got {self.num_heads}"


def action_head_sizes(action_space: spaces.Space) -> list[int]:
    """Output width of each action head for ``action_space``."""
    if isinstance(action_space, spaces.Discrete):
        return [int(action_space.n)]
    if isinstance(action_space, spaces.MultiDiscrete):
        return [int(n) for n in np.asarray(action_space.nvec).ravel()]
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        return [int(action_space.shape[0])]
    raise ValueError(f"action space {action_space} is not supported (Discrete, MultiDiscrete or 1-D Box)")


class TokenActorCritic(nn.Module):
    """``features(tokens, mask, state) -> (per-query features (B, Q, D), state)``; ``dist_inputs(features) ->
    (B, A)``; ``value(features) -> (B,)``."""

    def __init__(self, *, num_tokens: int, token_features: int, action_space: spaces.Space, cfg: TokenNetConfig) -> None:
        super().__init__()
        self.config = cfg
        sizes = action_head_sizes(action_space)
        self.continuous = isinstance(action_space, spaces.Box)
        d = cfg.latent_channels
        self.encoder = TOKEN_ENCODERS.build(
            cfg.encoder, num_tokens=num_tokens, token_features=token_features, num_queries=len(sizes) + 1, cfg=cfg
        )
        self.lstm = nn.LSTM(d, d, batch_first=True) if cfg.lstm else None
        self.heads = nn.ModuleList(nn.Linear(d, n) for n in sizes)
        self.log_std = nn.Parameter(torch.zeros(sizes[0])) if self.continuous else None
        self.value_head = nn.Sequential(nn.Linear(d, cfg.hidden), nn.Tanh(), nn.Linear(cfg.hidden, 1))
        for head in self.heads:  # small initial logits: a near-uniform first policy
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)

    def initial_state(self) -> dict[str, np.ndarray] | None:
        if self.lstm is None:
            return None
        d = self.lstm.hidden_size
        return {"h": np.zeros(d, np.float32), "c": np.zeros(d, np.float32)}

    def features(
        self, tokens: torch.Tensor, mask: torch.Tensor, state: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """``tokens (B, [T,] N, F)`` -> per-query features ``(B, [T,] Q, D)``; ``T`` only with the LSTM core."""
        lead = tokens.shape[:-2]
        feats = self.encoder(tokens.reshape(-1, *tokens.shape[-2:]), mask.reshape(-1, mask.shape[-1]).bool())
        feats = feats.reshape(*lead, *feats.shape[-2:])
        if self.lstm is None:
            return feats, None
        core, (h, c) = self.lstm(feats.mean(-2), (state["h"].unsqueeze(0), state["c"].unsqueeze(0)))
        return feats + core.unsqueeze(-2), {"h": h.squeeze(0), "c": c.squeeze(0)}

    def dist_inputs(self, feats: torch.Tensor) -> torch.Tensor:
        """Per-query features -> flat action-distribution inputs ``(..., A)``."""
        out = [head(feats[..., i, :]) for i, head in enumerate(self.heads)]
        if self.continuous:
            out.append(self.log_std.expand_as(out[0]))
        return torch.cat(out, dim=-1)

    def value(self, feats: torch.Tensor) -> torch.Tensor:
        return self.value_head(feats[..., -1, :]).squeeze(-1)
