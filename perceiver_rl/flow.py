"""Perceiver IO optical flow (paper §4.2): two frames in, one 2-D flow vector per pixel out.

frames ``(B, 2, C, H, W)`` -> 3x3 patch around every pixel of both frames (zero padded), ``2*9*C`` = 54
values -> Linear(54 -> 64) + 2-D Fourier features (258) -> encoder -> latents; the decoder queries are the
same ``(B, H*W, 322)`` inputs -> Linear to 2 (zero init) -> ÷ ``rescale_factor`` -> flow ``(B, H, W, 2)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    MAX_BANDS,
    MAX_CHANNELS,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LENGTH,
    MAX_SIDE,
    MAX_WIDENING,
    SHAPES_FOR_ATTN,
    bounded,
    check_choice,
    check_config,
    check_number,
    check_positive,
    check_shape,
)
from .decoder import DecoderConfig, PerceiverDecoder
from .encoder import EncoderConfig, PerceiverEncoder
from .position import FourierPositionEncoding

NUM_FRAMES = 2
PATCH_SIZE = 3


def flow_patches(frames: torch.Tensor) -> torch.Tensor:
    """DeepMind's ``patches_for_flow``: ``(B, T, C, H, W) -> (B, T, 9*C, H, W)``.

    The 9*C values of a pixel are its zero-padded 3x3 neighbourhood in ``(row, col, channel)`` order
    (channel fastest, as ``tf.image.extract_patches``). This is also the input layout of HF's
    ``PerceiverForOpticalFlow``.
    """
    check_shape("frames", frames, ("B", "T", "C", "H", "W"))
    b, t, c, h, w = frames.shape
    cols = F.unfold(frames.reshape(b * t, c, h, w), PATCH_SIZE, padding=PATCH_SIZE // 2)  # (B*T, C*9, H*W)
    cols = cols.view(b * t, c, PATCH_SIZE * PATCH_SIZE, h * w).transpose(1, 2)  # (B*T, 9, C, H*W)
    return cols.reshape(b, t, PATCH_SIZE * PATCH_SIZE * c, h, w)


def end_point_error(flow: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean end-point error: ``mean ||flow - target||_2`` over pixels; ``flow, target (B, H, W, 2)`` -> scalar.

    Differentiable, so it doubles as the training loss.
    """
    check_shape("target", target, tuple(flow.shape))
    return torch.linalg.vector_norm(flow - target, dim=-1).mean()


@dataclass
class OpticalFlowConfig:
    """Optical-flow Perceiver IO; defaults are the paper's Sintel/KITTI model (41.06M parameters)."""

    image_size: tuple[int, int] = bounded(1, MAX_SIDE, (368, 496), length=2)
    """Frame ``(H, W)``, each in [1, 65,536]; one query per pixel."""
    in_channels: int = bounded(1, MAX_CHANNELS, 3)
    """In [1, 65,536]."""
    patch_channels: int = bounded(1, MAX_CHANNELS, 64)
    """Width of the Linear applied to the ``2*9*in_channels`` patch values (DeepMind's ``conv_after_patching``);
    in [1, 65,536]."""
    num_bands: int = bounded(1, MAX_BANDS, 64)
    """Fourier frequency bands per dimension; in [1, 1,024]."""
    max_resolution: tuple[int, int] | None = bounded(1, MAX_SIDE, None, optional=True, length=2)
    """Nyquist resolution of the Fourier frequencies, each in [1, 65,536]; ``None`` = ``image_size``."""
    num_latents: int = bounded(1, MAX_LENGTH, 2048)
    """In [1, 65,536]."""
    num_latent_channels: int = bounded(1, MAX_CHANNELS, 512)
    """In [1, 65,536]."""
    num_blocks: int = bounded(0, MAX_LAYERS, 1)
    """In [0, 1,024]."""
    num_self_attends_per_block: int = bounded(0, MAX_LAYERS, 24)
    """In [0, 1,024]."""
    num_cross_attention_heads: int = bounded(1, MAX_HEADS, 1)
    """In [1, 1,024]."""
    num_self_attention_heads: int = bounded(1, MAX_HEADS, 16)
    """In [1, 1,024]."""
    cross_attention_widening_factor: int = bounded(1, MAX_WIDENING, 1)
    """In [1, 256]."""
    self_attention_widening_factor: int = bounded(1, MAX_WIDENING, 1)
    """In [1, 256]."""
    qk_channels: int | None = bounded(1, MAX_CHANNELS, None, optional=True)
    """None or in [1, 65,536]."""
    v_channels: int | None = bounded(1, MAX_CHANNELS, None, optional=True)
    """None or in [1, 65,536]."""
    use_query_residual: bool = True
    """Query residual in the encoder's cross-attention (HF's ``use_query_residual``)."""
    cross_attention_shape_for_attn: str = "kv"
    """qk width of the encoder's and decoder's cross-attentions when ``qk_channels`` is unset: 'kv' = the
    attended inputs' width (DeepMind's default), 'q' = the queries' width (HF's
    ``cross_attention_shape_for_attention``)."""
    decoder_query_residual: bool = False
    rescale_factor: float = 100.0
    """The decoder output is divided by this (DeepMind: 100); finite, > 0."""
    dropout: float = 0.0
    """In [0, 1)."""

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Every field in its range (ValueError naming the field), before anything is allocated; again in
        ``OpticalFlow`` (a field set after construction)."""
        check_config(self)
        check_choice("cross_attention_shape_for_attn", self.cross_attention_shape_for_attn, SHAPES_FOR_ATTN)
        check_positive("rescale_factor", self.rescale_factor)
        check_number("dropout", self.dropout, low=0.0, high=1.0, high_open=True)


class FlowPatchPreprocessor(nn.Module):
    """Flow patches ``(B, 2, 9*C, H, W)`` -> tokens ``(B, H*W, patch_channels + 4*num_bands + 2)`` (322)."""

    def __init__(self, config: OpticalFlowConfig) -> None:
        super().__init__()
        c = self.config = config
        self.patch_values = NUM_FRAMES * PATCH_SIZE * PATCH_SIZE * c.in_channels
        self.linear = nn.Linear(self.patch_values, c.patch_channels)
        self.position = FourierPositionEncoding(c.image_size, c.num_bands, max_resolution=c.max_resolution)

    @property
    def num_channels(self) -> int:
        return self.config.patch_channels + self.position.num_channels

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        per_frame = self.patch_values // NUM_FRAMES
        check_shape("patches", patches, ("B", NUM_FRAMES, per_frame, *self.config.image_size))
        b = patches.shape[0]
        # space-to-depth over time: channel index = frame * 9C + patch value (DeepMind/HF order).
        x = patches.permute(0, 3, 4, 1, 2).reshape(b, -1, self.patch_values)
        return torch.cat([self.linear(x), self.position(b).to(x.dtype)], dim=-1)


class OpticalFlow(nn.Module):
    """``frames (B, 2, C, H, W) -> flow (B, H, W, 2)``; frame 0 -> frame 1, per-pixel displacement in pixels."""

    def __init__(self, config: OpticalFlowConfig | None = None) -> None:
        super().__init__()
        c = self.config = config or OpticalFlowConfig()
        c.check()
        self.preprocessor = FlowPatchPreprocessor(c)
        width = self.preprocessor.num_channels
        self.encoder = PerceiverEncoder(EncoderConfig.from_task(c, width))
        self.decoder = PerceiverDecoder(
            DecoderConfig(
                num_latent_channels=c.num_latent_channels,
                num_query_channels=width,
                num_output_channels=2,
                use_query_residual=c.decoder_query_residual,
                shape_for_attn=c.cross_attention_shape_for_attn,
                dropout=c.dropout,
            )
        )
        final = self.decoder.final
        assert isinstance(final, nn.Linear)  # num_output_channels=2: a Linear, not the Identity
        nn.init.zeros_(final.weight)
        nn.init.zeros_(final.bias)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        c = self.config
        check_shape("frames", frames, ("B", NUM_FRAMES, c.in_channels, *c.image_size))
        inputs = self.preprocessor(flow_patches(frames))  # (B, H*W, 322)
        latents = self.encoder(inputs)
        flow = self.decoder(inputs, latents) / c.rescale_factor  # queries = the inputs
        return flow.reshape(frames.shape[0], *c.image_size, 2)
