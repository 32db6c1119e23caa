"""AlphaStar-style policies with a swappable entity encoder, the RLlib layer and the ``perceiver-rl`` CLI.

Pure-torch parts are importable without Ray; the RLModules live in :mod:`agents.rllib`
(``agents.rllib.token_module.PerceiverRLModule``, ``agents.rllib.alphastar_module.AlphaStarRLModule``).
"""

from envs.spec import ActionSpec, ActionType, ObservationSpec, TokenSpec

from .distribution import StructuredActionDistribution
from .policy import AlphaStarPolicy, PolicyConfig, PolicyOutput

__all__ = [
    "ActionSpec",
    "ActionType",
    "AlphaStarPolicy",
    "ObservationSpec",
    "PolicyConfig",
    "PolicyOutput",
    "StructuredActionDistribution",
    "TokenSpec",
]
