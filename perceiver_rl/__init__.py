"""Perceiver IO in pure PyTorch."""

from .attention import MultiHeadAttention
from .blocks import MLP, CrossAttentionBlock, SelfAttentionBlock
from .decoder import DecoderConfig, PerceiverDecoder
from .encoder import EncoderConfig, PerceiverEncoder
from .model import PerceiverIO
from .position import FourierPositionEncoding, LearnedPositionEncoding, fourier_features, linear_positions
from .queries import TrainableQueries

__all__ = [
    "MLP",
    "CrossAttentionBlock",
    "DecoderConfig",
    "EncoderConfig",
    "FourierPositionEncoding",
    "LearnedPositionEncoding",
    "MultiHeadAttention",
    "PerceiverDecoder",
    "PerceiverEncoder",
    "PerceiverIO",
    "SelfAttentionBlock",
    "TrainableQueries",
    "fourier_features",
    "linear_positions",
]
