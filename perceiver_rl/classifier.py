"""Perceiver IO image classifier: DeepMind's three ImageNet variants (paper Table 7).

``preprocessor (B, C, H, W) -> (B, M, C_in)`` -> encoder -> latents ``(B, N, D)`` -> one learned query
``(B, 1, D)`` cross-attends -> Linear -> logits ``(B, num_classes)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

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
    num_classes: int = 1000
    num_latents: int = 512
    """Latent array length N."""
    num_latent_channels: int = 1024
    """Latent width D (also the width of the single decoder query)."""
    num_blocks: int = 8
    """Repeats of the self-attention stack (weights shared)."""
    num_self_attends_per_block: int = 6
    num_cross_attention_heads: int = 1
    num_self_attention_heads: int = 8
    cross_attention_widening_factor: int = 1
    self_attention_widening_factor: int = 1
    qk_channels: int | None = None
    v_channels: int | None = None
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
