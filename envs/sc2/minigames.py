"""Facts about the seven SC2LE minigames (time limits, the raw action set we expose), checked against pysc2.

They live in :mod:`envs.maps` (importable without pysc2, for the registry); this module re-exports them
for the pysc2 side and checks, when pysc2 is imported, that its minigame list is still ours.
(The SC2LE reference scores live in ``agents/app/sc2le.py``, beside the evaluation that prints them.)
"""

from __future__ import annotations

from envs.maps import GAME_LOOPS_PER_SECOND, MINIGAME_INFO, Minigame, minigame
from envs.sc2.pysc2_compat import MINIGAMES as _PYSC2_MINIGAMES

assert set(MINIGAME_INFO) == set(_PYSC2_MINIGAMES), "pysc2's minigame list changed: update envs.maps.MINIGAME_INFO"

__all__ = ["GAME_LOOPS_PER_SECOND", "MINIGAME_INFO", "Minigame", "minigame"]
