"""One AlphaStar-style policy family with a swappable entity encoder, the RLlib layer and the ``perceiver-rl`` CLI.

:class:`AlphaStarPolicy` (structured SC2 actions) and :class:`SpacePolicy` (a token env's entity list and its
Gym action space) share the torso (``agents.torso``) and the config (:class:`PolicyConfig`). Pure-torch parts are
importable without Ray; the one RLModule is ``agents.rllib.alphastar_module.AlphaStarRLModule``.
"""

from envs.spec import ActionSpec, ActionType, ObservationSpec, TokenSpec

from .distribution import StructuredActionDistribution
from .policy import AlphaStarPolicy, PolicyConfig, PolicyOutput
from .space_policy import SpacePolicy

__all__ = [
    "ActionSpec",
    "ActionType",
    "AlphaStarPolicy",
    "ObservationSpec",
    "PolicyConfig",
    "PolicyOutput",
    "SpacePolicy",
    "StructuredActionDistribution",
    "TokenSpec",
]
