"""Each algorithm's own hyper-parameters: one section per algorithm, beside the common ``training:`` section.

The keys are RLlib's names, split as RLlib 2.60 declares them: ``AlgorithmConfig.training`` (every algorithm:
``lr``, ``gamma``, batch sizes, ``num_epochs``, ``grad_clip``) is the common
:class:`~agents.experiment.config.TrainingConfig`; what only an algorithm's own ``training()`` takes
(``PPOConfig.training``; ``APPOConfig.training`` and the ``IMPALAConfig.training`` it extends) is its section here.
The RLlib config class of each name is ``agents.rllib.build.ALGORITHMS``. Adding an algorithm: a section class
here, its entry in :data:`ALGORITHM_SECTIONS`, a field of that name in ``ExperimentConfig`` and its RLlib class
in ``ALGORITHMS``; the other algorithms' sections do not change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..nets.config_values import ranged, schedule_problems


@dataclass(kw_only=True)
class ClippedObjectiveConfig:
    """Keys of the PPO family's clipped surrogate objective, which PPO and APPO each declare in their own
    ``training()`` (RLlib's common ``AlgorithmConfig.training`` has none of them)."""

    lambda_: float = ranged(0.95, ge=0, le=1)
    """GAE lambda."""
    entropy_coeff: float | list[list[float]] = ranged(0.0, ge=0)
    """A constant, or RLlib's schedule ``[[env_step, value], ...]`` (starts at step 0, linear in between)."""
    vf_loss_coeff: float = ranged(0.5, ge=0)
    clip_param: float = ranged(0.2, gt=0)
    use_kl_loss: bool = False

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if isinstance(self.entropy_coeff, list):
            yield from schedule_problems("entropy_coeff", self.entropy_coeff)


@dataclass(kw_only=True)
class PPOTrainingConfig(ClippedObjectiveConfig):
    """``ppo:``, PPO's own keys (``PPOConfig.training``)."""


@dataclass(kw_only=True)
class APPOTrainingConfig(ClippedObjectiveConfig):
    """``appo:``, APPO's own keys (``APPOConfig.training``; ``entropy_coeff`` and ``vf_loss_coeff`` from the
    ``IMPALAConfig.training`` it extends). The defaults are PPO's, not RLlib's APPO defaults."""


ALGORITHM_SECTIONS: dict[str, str] = {"PPO": "ppo", "APPO": "appo"}
"""Algorithm name (``algorithm:``) -> the top-level key (an ``ExperimentConfig`` field) of its own keys."""

OWN_KEYS_BEFORE_SECTIONS = ("lambda_", "entropy_coeff", "vf_loss_coeff", "clip_param", "use_kl_loss")
"""Keys that ``training:`` held for every algorithm before the algorithm sections (Dec 2026)."""
