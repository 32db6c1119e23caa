"""Position encodings: DeepMind's Fourier features and learned position embeddings."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def linear_positions(index_dims: Sequence[int]) -> torch.Tensor:
    """Positions ``linspace(-1, 1, n)`` per dimension on an ``ij`` meshgrid: ``(*index_dims, d)``."""
    ranges = [torch.linspace(-1.0, 1.0, n) for n in index_dims]
    return torch.stack(torch.meshgrid(*ranges, indexing="ij"), dim=-1)


def fourier_features(
    pos: torch.Tensor,
    num_bands: int,
    max_resolution: Sequence[int],
    *,
    concat_pos: bool = True,
    sine_only: bool = False,
) -> torch.Tensor:
    """DeepMind's ``generate_fourier_features``: ``pos (N, d) -> (N, [d] + d*K*(1 or 2))``.

    Frequencies ``linspace(1, res/2, K)`` per dimension; channels ``[pos, sin(pi f p) dim-major, cos(...)]``.
    """
    freqs = torch.stack([torch.linspace(1.0, res / 2, num_bands) for res in max_resolution])  # (d, K)
    per_pos = (pos[:, :, None] * freqs[None]).reshape(pos.shape[0], -1)  # (N, d*K)
    feats = (
        [torch.sin(math.pi * per_pos)] if sine_only else [torch.sin(math.pi * per_pos), torch.cos(math.pi * per_pos)]
    )
    if concat_pos:
        feats.insert(0, pos)
    return torch.cat(feats, dim=-1)


class FourierPositionEncoding(nn.Module):
    """Fixed Fourier features of a ``d``-dimensional grid ``index_dims``; ``forward(B) -> (B, prod(index_dims), C)``.

    ``C = d*K*2 + d`` (258 for a 2-D grid with 64 bands). ``max_resolution`` defaults to ``index_dims``.
    """

    features: torch.Tensor

    def __init__(
        self,
        index_dims: Sequence[int],
        num_bands: int,
        *,
        max_resolution: Sequence[int] | None = None,
        concat_pos: bool = True,
        sine_only: bool = False,
    ) -> None:
        super().__init__()
        self.index_dims = tuple(int(n) for n in index_dims)
        max_resolution = tuple(max_resolution or self.index_dims)
        if len(max_resolution) != len(self.index_dims):
            raise ValueError(f"max_resolution: expected {len(self.index_dims)} values, got {max_resolution}")
        pos = linear_positions(self.index_dims).reshape(-1, len(self.index_dims))
        feats = fourier_features(pos, num_bands, max_resolution, concat_pos=concat_pos, sine_only=sine_only)
        self.register_buffer("features", feats, persistent=False)

    @property
    def num_channels(self) -> int:
        return self.features.shape[-1]

    def forward(self, batch_size: int) -> torch.Tensor:
        return self.features.unsqueeze(0).expand(batch_size, -1, -1)


class LearnedPositionEncoding(nn.Module):
    """A trainable ``(num_positions, num_channels)`` array; ``forward(B) -> (B, num_positions, num_channels)``."""

    def __init__(self, num_positions: int, num_channels: int, *, init_scale: float = 0.02) -> None:
        super().__init__()
        self.embeddings = nn.Parameter(torch.empty(num_positions, num_channels))
        nn.init.trunc_normal_(self.embeddings, std=init_scale, a=-2 * init_scale, b=2 * init_scale)

    @property
    def num_channels(self) -> int:
        return self.embeddings.shape[-1]

    def forward(self, batch_size: int) -> torch.Tensor:
        return self.embeddings.unsqueeze(0).expand(batch_size, -1, -1)
