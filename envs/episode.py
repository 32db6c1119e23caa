"""Gymnasium's episode convention, made strict for the envs of this package.

Gymnasium leaves ``step()`` after ``terminated`` or ``truncated`` undefined; our envs raise instead of
silently continuing or starting a new episode whose counters would carry over. ``reset()`` starts a
fresh episode (fresh counters). RLlib's vector envs and every loop in this repository reset first.
"""

from __future__ import annotations

STEP_AFTER_END = "step() after the episode ended (terminated or truncated): call reset() to start a new one"


class StepAfterEndError(RuntimeError):
    """``step()`` was called on an env whose episode has ended."""


class EpisodeGuard:
    """Tracks whether the current episode has ended: ``started()`` on reset, ``check()`` before a step,
    ``record(terminated, truncated)`` after it."""

    def __init__(self) -> None:
        self.ended = False

    def started(self) -> None:
        self.ended = False

    def check(self) -> None:
        if self.ended:
            raise StepAfterEndError(STEP_AFTER_END)

    def record(self, terminated: bool, truncated: bool) -> None:
        self.ended = bool(terminated or truncated)
