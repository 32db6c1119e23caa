"""Facts about the seven SC2LE minigames: time limits and the raw action set we expose.

(The SC2LE reference scores live in ``agents/sc2le.py``, beside the evaluation that prints them.)
"""

from __future__ import annotations

from dataclasses import dataclass

from envs.sc2.pysc2_compat import MINIGAMES

GAME_LOOPS_PER_SECOND = 16
"""Game loops per game second ("normal" speed), the unit of the maps' timers and of unit speeds."""


@dataclass(frozen=True)
class Minigame:
    """One SC2LE minigame."""

    name: str
    seconds: int
    """Time limit of the map (game seconds)."""
    action_functions: tuple[str, ...]
    """``actions.RAW_FUNCTIONS`` names exposed as action types, in action-type index order."""

    @property
    def game_loops(self) -> int:
        return self.seconds * GAME_LOOPS_PER_SECOND


_MOVE = ("no_op", "Move_pt", "Move_unit", "Smart_unit")
"""The two movement maps: a move to a point, or to a unit (the beacon / a shard) by its pointer; Smart (the right
click) on these neutral pickups is a move to them too. ``Attack_unit`` is left out: nothing there can be
attacked (the simulator executes it as a move to the unit; ``SC2MinigameEnv(action_functions=...)`` can add it)."""
_FIGHT = ("no_op", "Move_pt", "Attack_pt", "Attack_unit")
_ECONOMY = ("no_op", "Move_pt", "Harvest_Gather_unit", "Train_SCV_quick", "Build_SupplyDepot_pt")

MINIGAME_INFO: dict[str, Minigame] = {
    m.name: m
    for m in (
        Minigame("MoveToBeacon", 120, _MOVE),
        Minigame("CollectMineralShards", 120, _MOVE),
        Minigame("FindAndDefeatZerglings", 180, _FIGHT),
        Minigame("DefeatRoaches", 120, _FIGHT),
        Minigame("DefeatZerglingsAndBanelings", 120, _FIGHT),
        Minigame("CollectMineralsAndGas", 420, _ECONOMY + ("Build_Refinery_pt",)),
        Minigame("BuildMarines", 900, _ECONOMY + ("Build_Barracks_pt", "Train_Marine_quick")),
    )
}
assert set(MINIGAME_INFO) == set(MINIGAMES), "pysc2's minigame list changed"


def minigame(name: str) -> Minigame:
    """The :class:`Minigame` called ``name``; ``ValueError`` listing the valid names otherwise."""
    if name not in MINIGAME_INFO:
        raise ValueError(f"unknown SC2 minigame {name!r}; valid: {sorted(MINIGAME_INFO)}")
    return MINIGAME_INFO[name]
