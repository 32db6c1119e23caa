"""RLlib ``Distribution`` adapter for :class:`agents.nets.distribution.StructuredActionDistribution`.

PPO re-creates the action distribution from ``ACTION_DIST_INPUTS`` (the flat, teacher-forced logits) and
calls ``logp(batch[ACTIONS])``, ``entropy()`` and ``kl()`` on it; this class forwards those to ours. The
action spec is bound per module with :func:`distribution_class_for`.
"""

from __future__ import annotations

import gymnasium as gym
from ray.rllib.core.distribution.distribution import Distribution

from envs.spec import ActionSpec

from ..nets.distribution import ActionLayout, StructuredActionDistribution


class RLlibStructuredDistribution(Distribution):
    action_spec: ActionSpec | None = None
    """Bound by :func:`distribution_class_for`."""

    def __init__(self, dist: StructuredActionDistribution, deterministic: bool = False) -> None:
        super().__init__()
        self.dist, self._deterministic = dist, deterministic

    @classmethod
    def from_logits(cls, logits, **kwargs) -> RLlibStructuredDistribution:
        return cls(StructuredActionDistribution.from_flat(logits, cls.action_spec))

    def to_deterministic(self) -> RLlibStructuredDistribution:
        return type(self)(self.dist, deterministic=True)

    def sample(self, *, sample_shape=None, **kwargs):
        return self.dist.deterministic() if self._deterministic else self.dist.sample()

    def rsample(self, *, sample_shape=None, **kwargs):
        raise NotImplementedError("a structured discrete action has no reparameterised sample")

    def logp(self, value, **kwargs):
        return self.dist.logp(value)

    def kl(self, other: RLlibStructuredDistribution, **kwargs):
        return self.dist.kl(other.dist)

    def entropy(self, **kwargs):
        return self.dist.entropy()

    @classmethod
    def required_input_dim(cls, space: gym.Space, **kwargs) -> int:
        return ActionLayout.from_spec(cls.action_spec).width


def distribution_class_for(action_spec: ActionSpec) -> type[RLlibStructuredDistribution]:
    return type("StructuredDistribution", (RLlibStructuredDistribution,), {"action_spec": action_spec})
