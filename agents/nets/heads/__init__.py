"""Policy heads: head torsos (``queries`` | ``mlp``) and the shared autoregressive argument heads of structured
actions; action-space heads (the same names) for a Gym action space (:mod:`agents.nets.heads.space`)."""

from .arguments import ArgumentHeads
from .base import HEAD_TORSOS, ArgumentFeatures, HeadDims, HeadTorso, Stage1, build_heads, register_heads
from .mlp import MLPHeads
from .queries import QueryHeads
from .space import ACTION_SPACE_HEADS, SpaceHeadDims, SpaceHeads, build_space_heads, register_space_heads

__all__ = [
    "ACTION_SPACE_HEADS",
    "HEAD_TORSOS",
    "ArgumentFeatures",
    "ArgumentHeads",
    "HeadDims",
    "HeadTorso",
    "MLPHeads",
    "QueryHeads",
    "SpaceHeadDims",
    "SpaceHeads",
    "Stage1",
    "build_heads",
    "build_space_heads",
    "register_heads",
    "register_space_heads",
]
