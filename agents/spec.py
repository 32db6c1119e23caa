"""Re-export of :mod:`envs.spec`, the observation and action contract (it lives with its producers, envs/).

Kept so that code importing ``agents.spec`` keeps working; new code imports ``envs.spec``.
"""

from envs.spec import ARGUMENTS, ActionSpec, ActionType, ObservationSpec, TokenSpec

__all__ = ["ARGUMENTS", "ActionSpec", "ActionType", "ObservationSpec", "TokenSpec"]
