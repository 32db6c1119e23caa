"""Image input preprocessors of DeepMind's ImageNet Perceiver IO (paper Table 7), one per variant.

Each preprocessor maps images ``(B, C, H, W)`` to encoder inputs ``(B, M, num_channels)`` and is built
from its own config dataclass. ``IMAGE_PREPROCESSORS`` is the registry name -> class used by
``ImageClassifier``; ``config_class`` on each class names its config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import MAX_BANDS, MAX_CHANNELS, MAX_SIDE, bounded, check_config, check_shape
from .position import FourierPositionEncoding, LearnedPositionEncoding


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow/Haiku 'SAME' padding ``(before, after)`` of one spatial dim: output ``ceil(size / stride)``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def images_to_tokens(images: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W) -> (B, H*W, C)``, row-major over ``(H, W)``."""
    return images.flatten(2).transpose(1, 2)


@dataclass
class LearnedPositionPreprocessorConfig:
    """'learned' variant: 1x1 conv of the pixels, concatenated with a learned, projected position array."""

    image_size: tuple[int, int] = bounded(1, MAX_SIDE, (224, 224), length=2)
    """Input ``(H, W)``, each in [1, 65,536]; the learned position array has ``H*W`` rows."""
    in_channels: int = bounded(1, MAX_CHANNELS, 3)
    """In [1, 65,536]."""
    conv_channels: int = bounded(1, MAX_CHANNELS, 256)
    """Output width of the 1x1 convolution; in [1, 65,536]."""
    position_channels: int = bounded(1, MAX_CHANNELS, 256)
    """Width of the learned position array; in [1, 65,536]."""
    projected_position_channels: int = bounded(1, MAX_CHANNELS, 256)
    """Width of the Linear projection applied to the position array (DeepMind's ``project_pos_dim``); in
    [1, 65,536]."""

    def __post_init__(self) -> None:
        check_config(self)


class LearnedPositionPreprocessor(nn.Module):
    """``(B, C, H, W) -> (B, H*W, conv_channels + projected_position_channels)`` (512 for ImageNet)."""

    config_class: ClassVar[type] = LearnedPositionPreprocessorConfig

    def __init__(self, config: LearnedPositionPreprocessorConfig) -> None:
        super().__init__()
        check_config(config)  # again: a field set after construction
        c = self.config = config
        self.conv = nn.Conv2d(c.in_channels, c.conv_channels, kernel_size=1)
        self.position = LearnedPositionEncoding(c.image_size[0] * c.image_size[1], c.position_channels)
        self.projection = nn.Linear(c.position_channels, c.projected_position_channels)

    @property
    def num_channels(self) -> int:
        return self.config.conv_channels + self.config.projected_position_channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_shape("images", images, ("B", self.config.in_channels, *self.config.image_size))
        x = images_to_tokens(self.conv(images))
        return torch.cat([x, self.projection(self.position(x.shape[0]))], dim=-1)


@dataclass
class FourierPixelsPreprocessorConfig:
    """'fourier' variant: raw pixels concatenated with 2-D Fourier position features."""

    image_size: tuple[int, int] = bounded(1, MAX_SIDE, (224, 224), length=2)
    """Input ``(H, W)``, each in [1, 65,536]."""
    in_channels: int = bounded(1, MAX_CHANNELS, 3)
    """In [1, 65,536]."""
    num_bands: int = bounded(1, MAX_BANDS, 64)
    """Fourier frequency bands per dimension; in [1, 1,024]."""
    max_resolution: tuple[int, int] | None = bounded(1, MAX_SIDE, None, optional=True, length=2)
    """Nyquist resolution of the Fourier frequencies, each in [1, 65,536]; ``None`` = ``image_size``."""

    def __post_init__(self) -> None:
        check_config(self)


class FourierPixelsPreprocessor(nn.Module):
    """``(B, C, H, W) -> (B, H*W, C + 4*num_bands + 2)`` (261 for RGB with 64 bands)."""

    config_class: ClassVar[type] = FourierPixelsPreprocessorConfig

    def __init__(self, config: FourierPixelsPreprocessorConfig) -> None:
        super().__init__()
        check_config(config)  # again: a field set after construction
        c = self.config = config
        self.position = FourierPositionEncoding(c.image_size, c.num_bands, max_resolution=c.max_resolution)

    @property
    def num_channels(self) -> int:
        return self.config.in_channels + self.position.num_channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_shape("images", images, ("B", self.config.in_channels, *self.config.image_size))
        x = images_to_tokens(images)
        return torch.cat([x, self.position(x.shape[0]).to(x.dtype)], dim=-1)


@dataclass
class ConvPreprocessorConfig:
    """'conv' variant: 7x7/2 conv (no bias) + BatchNorm + ReLU + 3x3/2 max-pool, then 2-D Fourier features."""

    image_size: tuple[int, int] = bounded(1, MAX_SIDE, (224, 224), length=2)
    """Input ``(H, W)``, each in [1, 65,536]."""
    in_channels: int = bounded(1, MAX_CHANNELS, 3)
    """In [1, 65,536]."""
    conv_channels: int = bounded(1, MAX_CHANNELS, 64)
    """In [1, 65,536]."""
    num_bands: int = bounded(1, MAX_BANDS, 64)
    """Fourier frequency bands per dimension; in [1, 1,024]."""
    max_resolution: tuple[int, int] | None = bounded(1, MAX_SIDE, None, optional=True, length=2)
    """Nyquist resolution of the Fourier frequencies, each in [1, 65,536]; ``None`` = the pooled grid size."""
    use_batchnorm: bool = True
    tf_same_padding: bool = True
    """True (DeepMind): TF 'SAME' padding for conv (2, 3) and max-pool (0, 1): 224 -> 112 -> 56x56 tokens.
    False (HF transformers): conv padded (3, 3), max-pool unpadded: 224 -> 112 -> 55x55 tokens."""

    def __post_init__(self) -> None:
        check_config(self)


class ConvPreprocessor(nn.Module):
    """``(B, C, H, W) -> (B, h*w, conv_channels + 4*num_bands + 2)`` with ``(h, w)`` = ``grid_size`` (322 ch)."""

    config_class: ClassVar[type] = ConvPreprocessorConfig
    kernel, stride, pool_kernel, pool_stride = 7, 2, 3, 2

    def __init__(self, config: ConvPreprocessorConfig) -> None:
        super().__init__()
        check_config(config)  # again: a field set after construction
        c = self.config = config
        self.conv = nn.Conv2d(c.in_channels, c.conv_channels, self.kernel, stride=self.stride, bias=False)
        self.batchnorm = nn.BatchNorm2d(c.conv_channels) if c.use_batchnorm else nn.Identity()
        self.conv_pad = self._pads(c.image_size, self.kernel, self.stride, hf_pad=self.kernel // 2)
        conv_size = tuple((n + sum(p) - self.kernel) // self.stride + 1 for n, p in zip(c.image_size, self.conv_pad))
        self.pool_pad = self._pads(conv_size, self.pool_kernel, self.pool_stride, hf_pad=0)
        self.grid_size = tuple(
            (n + sum(p) - self.pool_kernel) // self.pool_stride + 1 for n, p in zip(conv_size, self.pool_pad)
        )
        self.position = FourierPositionEncoding(self.grid_size, c.num_bands, max_resolution=c.max_resolution)

    def _pads(self, size: tuple[int, ...], kernel: int, stride: int, hf_pad: int) -> tuple[tuple[int, int], ...]:
        """Per-dim ``(before, after)`` padding under this config's padding convention."""
        if self.config.tf_same_padding:
            return tuple(same_padding(n, kernel, stride) for n in size)
        return tuple((hf_pad, hf_pad) for _ in size)

    @staticmethod
    def _f_pad(pads: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
        """``((top, bottom), (left, right))`` -> ``F.pad`` order ``(left, right, top, bottom)``."""
        return tuple(p for pair in reversed(pads) for p in pair)

    @property
    def num_channels(self) -> int:
        return self.config.conv_channels + self.position.num_channels

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_shape("images", images, ("B", self.config.in_channels, *self.config.image_size))
        x = self.conv(F.pad(images, self._f_pad(self.conv_pad)))
        x = torch.relu(self.batchnorm(x))
        x = F.max_pool2d(F.pad(x, self._f_pad(self.pool_pad), value=-math.inf), self.pool_kernel, self.pool_stride)
        x = images_to_tokens(x)
        return torch.cat([x, self.position(x.shape[0]).to(x.dtype)], dim=-1)


ImagePreprocessor = LearnedPositionPreprocessor | FourierPixelsPreprocessor | ConvPreprocessor
"""Type of an ``IMAGE_PREPROCESSORS`` preprocessor."""

IMAGE_PREPROCESSORS: dict[str, type[ImagePreprocessor]] = {
    "learned": LearnedPositionPreprocessor,
    "fourier": FourierPixelsPreprocessor,
    "conv": ConvPreprocessor,
}
"""Registry of ImageNet input preprocessors, keyed by DeepMind's variant name."""


def build_image_preprocessor(name: str, config: object | None = None) -> ImagePreprocessor:
    """Build ``IMAGE_PREPROCESSORS[name]`` from ``config`` (its ``config_class``; ``None`` = defaults)."""
    if name not in IMAGE_PREPROCESSORS:
        raise ValueError(f"preprocessor: unknown name {name!r}, expected one of {sorted(IMAGE_PREPROCESSORS)}")
    cls = IMAGE_PREPROCESSORS[name]
    config = cls.config_class() if config is None else config
    if not isinstance(config, cls.config_class):
        raise ValueError(
            f"preprocessor_config: {name!r} needs a {cls.config_class.__name__}, got {type(config).__name__}"
        )
    # config is a cls.config_class (checked above), which mypy cannot tie to the union member cls is.
    return cls(cast(Any, config))
