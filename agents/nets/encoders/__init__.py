"""Observation encoders of the AlphaStar-style policy."""

from .base import (
    ENTITY_ENCODERS,
    EntityEncoder,
    EntityEncoderConfig,
    EntityEncoding,
    build_entity_encoder,
    masked_mean,
    register_entity_encoder,
)
from .perceiver import PerceiverEntityEncoder
from .scalar import ScalarEncoder
from .spatial import ResBlock, SpatialEncoder
from .transformer import TransformerEntityEncoder

__all__ = [
    "ENTITY_ENCODERS",
    "EntityEncoder",
    "EntityEncoderConfig",
    "EntityEncoding",
    "PerceiverEntityEncoder",
    "ResBlock",
    "ScalarEncoder",
    "SpatialEncoder",
    "TransformerEntityEncoder",
    "build_entity_encoder",
    "masked_mean",
    "register_entity_encoder",
]
