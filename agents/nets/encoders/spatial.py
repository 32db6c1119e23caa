"""AlphaStar's spatial encoder: 1x1 conv, strided convs down, residual blocks; keeps the map skip."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ResBlock(nn.Module):
    """``(B, C, h, w) -> (B, C, h, w)``: ``x + conv3x3(ReLU(conv3x3(ReLU(x))))``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(torch.relu(self.conv1(torch.relu(x))))


class SpatialEncoder(nn.Module):
    """``spatial (B, C, H, W) -> (map_skip (B, channels[-1], H/s, W/s), embedded (B, out_channels))``.

    ``spatial_size`` is the map's (the location grid's). The planes are first average-pooled by ``pool`` (minigame
    planes are sparse occupancy maps: pooling keeps what is where at a fraction of the convolution cost);
    ``channels[0]`` is the 1x1 projection; each further entry is a stride-2 4x4 conv, so ``s = pool * 2**(len-1)``.
    Planes that arrive already average-pooled by ``input_pool`` (the env's ``plane_pool``) are
    ``(B, C, H/input_pool, W/input_pool)`` and pooled by the rest, ``pool / input_pool``: the same numbers.

    ``embedded = ReLU(Linear(flatten(ReLU(map_skip))))`` as in AlphaStar, except that a map skip larger than
    ``embed_size`` cells a side is first average-pooled to ``embed_size`` (adaptively, as torchvision's VGG
    does before its classifier): that Linear is read whole for every action, and flattening the default
    policy's 16 x 16 x 64 map skip made it half of all its weights (16,384 x 256). ``map_skip`` itself, what
    the location head reads, keeps its resolution.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        spatial_size: tuple[int, int],
        channels: Sequence[int] = (32, 64, 128),
        num_res_blocks: int = 2,
        out_channels: int = 256,
        pool: int = 1,
        input_pool: int = 1,
        embed_size: int = 8,
    ) -> None:
        super().__init__()
        if pool < 1:
            raise ValueError(f"pool: expected >= 1, got {pool}")
        if input_pool < 1 or pool % input_pool:
            raise ValueError(
                f"spatial_pool: {pool} is not a multiple of the env's plane_pool {input_pool} (the planes arrive "
                f"pooled by {input_pool}; the policy pools them by spatial_pool in all)"
            )
        if embed_size < 1:
            raise ValueError(f"embed_size: expected >= 1, got {embed_size}")
        self.stride = pool * 2 ** (len(channels) - 1)
        h, w = spatial_size
        if h % self.stride or w % self.stride:
            raise ValueError(
                f"spatial_size: {spatial_size} is not divisible by the spatial encoder's stride {self.stride}"
            )
        self.map_size = (h // self.stride, w // self.stride)
        rest = pool // input_pool  # what is left to pool of planes that arrive pooled by input_pool
        # the pooling keeps its slot when the env pooled already: the same state_dict keys, weights interchangeable
        layers: list[nn.Module] = [nn.AvgPool2d(rest) if rest > 1 else nn.Identity()] if pool > 1 else []
        layers.append(nn.Conv2d(in_channels, channels[0], 1))
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [nn.ReLU(), nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)]
        self.down = nn.Sequential(*layers)
        self.res_blocks = nn.Sequential(*(ResBlock(channels[-1]) for _ in range(num_res_blocks)))
        self.map_channels = channels[-1]
        grid = tuple(min(n, embed_size) for n in self.map_size)  # what the embedding reads: (<= embed_size) a side
        self.embed_pool = nn.AdaptiveAvgPool2d(grid) if grid != self.map_size else nn.Identity()
        self.embed = nn.Linear(channels[-1] * grid[0] * grid[1], out_channels)

    def forward(self, spatial: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        skip = self.res_blocks(self.down(spatial))
        return skip, torch.relu(self.embed(self.embed_pool(torch.relu(skip)).flatten(1)))
