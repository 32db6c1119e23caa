"""RLlib's distribution class for a Gym action space (``Discrete``, ``MultiDiscrete``, ``Box``), reading the flat
``dist_inputs`` layout of :mod:`agents.nets.action_space` (the layout these classes define)."""

from __future__ import annotations

from gymnasium import spaces
from ray.rllib.core.distribution.distribution import Distribution
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchCategorical,
    TorchDiagGaussian,
    TorchMultiCategorical,
)

from ..nets.action_space import space_actions


def space_distribution_class(action_space: spaces.Space) -> type[Distribution]:
    """``TorchCategorical`` (Discrete), ``TorchMultiCategorical`` over the components (MultiDiscrete) or
    ``TorchDiagGaussian`` (Box); ``ValueError`` for a space :func:`agents.nets.action_space.space_actions` refuses."""
    sizes = space_actions(action_space).head_sizes
    if isinstance(action_space, spaces.MultiDiscrete):
        return TorchMultiCategorical.get_partial_dist_cls(input_lens=sizes)
    return TorchCategorical if isinstance(action_space, spaces.Discrete) else TorchDiagGaussian
