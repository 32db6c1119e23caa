"""One AlphaStar-style policy family with a swappable entity encoder, the RLlib layer and the ``perceiver-rl`` CLI.

Three layers, one folder each: ``agents.nets`` (the networks, pure PyTorch, never imports Ray), ``agents.rllib``
(the RLModule, distributions, Algorithm configs and the RLlib-facing API) and ``agents.app`` (the command line,
experiment config, training, evaluation, checkpoints).

:class:`AlphaStarPolicy` (structured SC2 actions) and :class:`SpacePolicy` (a token env's entity list and its
Gym action space) share the torso (``agents.nets.torso``) and the config (:class:`PolicyConfig`). Pure-torch parts are
importable without Ray; the one RLModule is ``agents.rllib.alphastar_module.AlphaStarRLModule``.
"""

from envs.spec import ActionSpec, ActionType, ObservationSpec, TokenSpec

from .nets.distribution import StructuredActionDistribution
from .nets.policy import AlphaStarPolicy, PolicyConfig, PolicyOutput
from .nets.space_policy import SpacePolicy

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
