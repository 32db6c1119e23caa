"""Scalar encoder: global features -> an embedding."""

from __future__ import annotations

import torch
from torch import nn


class ScalarEncoder(nn.Module):
    """``scalars (B, S) -> (B, out_channels)``: Linear -> ReLU -> Linear -> ReLU."""

    def __init__(self, *, in_features: int, out_channels: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, out_channels), nn.ReLU(), nn.Linear(out_channels, out_channels), nn.ReLU()
        )

    def forward(self, scalars: torch.Tensor) -> torch.Tensor:
        return self.net(scalars)
