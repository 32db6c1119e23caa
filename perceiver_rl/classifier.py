"""Perceiver IO image classifier: DeepMind's three ImageNet variants (paper Table 7).

``preprocessor (B, C, H, W) -> (B, M, C_in)`` -> encoder -> latents ``(B, N, D)`` -> one learned query
``(B, 1, D)`` cross-attends -> Linear -> logits ``(B, num_classes)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ._checks import (
    MAX_CHANNELS,
    MAX_HEADS,
    MAX_LAYERS,
    MAX_LENGTH,
    MAX_OUTPUTS,
    MAX_WIDENING,
    SHAPES_FOR_ATTN,
    bounded,
    check_choice,
    check_config,
    check_number,
)
from .decoder import DecoderConfig, PerceiverDecoder
from .encoder import EncoderConfig, PerceiverEncoder
from .preprocessors import (
    ConvPreprocessorConfig,
    FourierPixelsPreprocessorConfig,
    LearnedPositionPreprocessorConfig,
    build_image_preprocessor,
)
from .queries import TrainableQueries


@dataclass
class ImageClassifierConfig:
    """Image classifier hyper-parameters; defaults are the paper's ImageNet trunk (Fourier variant)."""

    preprocessor: str = "fourier"
    """Registry name in ``IMAGE_PREPROCESSORS``: 'learned', 'fourier' or 'conv'."""
    preprocessor_config: (
        LearnedPositionPreprocessorConfig | FourierPixelsPreprocessorConfig | ConvPreprocessorConfig | None
    ) = None
    """The preprocessor's own config (``None`` = its defaults, i.e. 224x224 RGB ImageNet)."""
    num_classes: int = bounded(1, MAX_OUTPUTS, 1000)
    """In [1, 1,048,576]."""
    num_latents: int = bounded(1, MAX_LENGTH, 512)
    """Latent array length N; in [1, 65,536]."""
    num_latent_channels: int = bounded(1, MAX_CHANNELS, 1024)
    """Latent width D (also the width of the single decoder query); in [1, 65,536]."""
    num_blocks: int = bounded(0, MAX_LAYERS, 8)
    """Repeats of the self-attention stack (weights shared); in [0, 1,024]."""
    num_self_attends_per_block: int = bounded(0, MAX_LAYERS, 6)
    """In [0, 1,024]."""
    num_cross_attention_heads: int = bounded(1, MAX_HEADS, 1)
    """In [1, 1,024]."""
    num_self_attention_heads: int = bounded(1, MAX_HEADS, 8)
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
    decoder_query_residual: bool = True
    """Query residual in the decoder cross-attention. DeepMind: on for 'fourier'/'conv', off for 'learned'
    (HF transformers turns it on for all three; set True to reproduce HF's learned model)."""
    dropout: float = 0.0
    """In [0, 1)."""

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Every field in its range (ValueError naming the field), before anything is allocated; again in
        ``ImageClassifier`` (a field set after construction)."""
        check_config(self)
        check_choice("cross_attention_shape_for_attn", self.cross_attention_shape_for_attn, SHAPES_FOR_ATTN)
        check_number("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        if self.preprocessor_config is not None:
            check_config(self.preprocessor_config)


def _imagenet(
    preprocessor: str,
    preprocessor_config: LearnedPositionPreprocessorConfig | FourierPixelsPreprocessorConfig | ConvPreprocessorConfig,
    decoder_query_residual: bool,
) -> ImageClassifierConfig:
    return ImageClassifierConfig(
        preprocessor=preprocessor,
        preprocessor_config=preprocessor_config,
        decoder_query_residual=decoder_query_residual,
    )


IMAGENET_PRESETS = {
    "learned": lambda: _imagenet("learned", LearnedPositionPreprocessorConfig(), False),
    "fourier": lambda: _imagenet("fourier", FourierPixelsPreprocessorConfig(max_resolution=(224, 224)), True),
    "conv": lambda: _imagenet("conv", ConvPreprocessorConfig(max_resolution=(56, 56)), True),
}
"""Paper Table 7 configurations with DeepMind's behaviour (62.26M / 48.44M / 48.65M parameters)."""


def imagenet_config(variant: str) -> ImageClassifierConfig:
    """A fresh paper ImageNet config for ``variant`` in ``IMAGENET_PRESETS``."""
    if variant not in IMAGENET_PRESETS:
        raise ValueError(f"variant: unknown ImageNet variant {variant!r}, expected one of {sorted(IMAGENET_PRESETS)}")
    return IMAGENET_PRESETS[variant]()


class ImageClassifier(nn.Module):
    """``images (B, C, H, W) -> logits (B, num_classes)``."""

    def __init__(self, config: ImageClassifierConfig | None = None) -> None:
        super().__init__()
        c = self.config = config or ImageClassifierConfig()
        c.check()
        self.preprocessor = build_image_preprocessor(c.preprocessor, c.preprocessor_config)
        self.encoder = PerceiverEncoder(EncoderConfig.from_task(c, self.preprocessor.num_channels))
        self.queries = TrainableQueries(1, c.num_latent_channels)
        self.decoder = PerceiverDecoder(
            DecoderConfig(
                num_latent_channels=c.num_latent_channels,
                num_query_channels=c.num_latent_channels,
                num_output_channels=c.num_classes,
                use_query_residual=c.decoder_query_residual,
                shape_for_attn=c.cross_attention_shape_for_attn,
                dropout=c.dropout,
            )
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        latents = self.encoder(self.preprocessor(images))
        return self.decoder(self.queries(images.shape[0]), latents)[:, 0]
