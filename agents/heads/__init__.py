"""Policy heads: head torsos (``queries`` | ``mlp``) and the shared autoregressive argument heads."""

from .arguments import ArgumentHeads
from .base import HEAD_TORSOS, ArgumentFeatures, HeadDims, HeadTorso, Stage1, build_heads, register_heads
from .mlp import MLPHeads
from .queries import QueryHeads

__all__ = [
    "HEAD_TORSOS",
    "ArgumentFeatures",
    "ArgumentHeads",
    "HeadDims",
    "HeadTorso",
    "MLPHeads",
    "QueryHeads",
    "Stage1",
    "build_heads",
    "register_heads",
]
