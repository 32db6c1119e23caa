"""The SC2LE minigames: the one list of their names and facts.

Cheap to import (no pysc2, Ray, torch or simulator): ``import envs`` reads these names to register the
``SC2-<map>-v0`` ids; the simulator (``envs/sim/``) and the adapter (``envs/sc2/``) both read the facts, so this
module imports neither. Every other list of maps reads it:

- :data:`MINIGAME_INFO` (below) is where a minigame's facts live: its time limit and the raw action set we
  expose. :data:`MINIGAMES` (sorted names, the ``SC2-`` ids) is derived from it. :mod:`envs.pysc2_compat`
  checks it against pysc2's own list when pysc2 is imported; ``agents/app/sc2le.py`` reads its reference scores
  in :data:`MINIGAME_INFO`'s order (the SC2LE paper's).
- :data:`envs.sim.catalog.RULES` is where a simulated minigame's rules live; :data:`envs.sim.catalog.SIM_MAPS`
  (the ``Sim-`` ids) is derived from it.
- ``envs.sc2.scripted.SCRIPTED_AGENTS`` (keyed by map name) holds a scripted agent per simulated map (the
  benchmark, ``--demos scripted`` and the demo play them); a test checks that every simulated map has one.

Adding a minigame:

1. pysc2 ships a new one: add its :class:`Minigame` to :data:`MINIGAME_INFO` (the ``SC2-<map>-v0`` id
   follows); a test checks the names against pysc2's.
2. The simulator plays it: add its rules to ``RULES`` in ``envs/sim/catalog.py`` (the ``Sim-<map>-v0`` id
   follows; the rules live in the folder of their family, ``envs/sim/pickups/rules.py`` or
   ``envs/sim/combat/rules.py``), a scripted agent to ``SCRIPTED_AGENTS`` in ``envs/sc2/scripted.py``, its config
   under ``configs/`` and its test in ``tests/envs/sim/``.
"""

from __future__ import annotations

from dataclasses import dataclass

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
"""The seven SC2LE minigames by map name, in the order of the SC2LE paper's tables."""

MINIGAMES: tuple[str, ...] = tuple(sorted(MINIGAME_INFO))
"""The seven SC2LE minigames' map names, sorted (the ``SC2-<map>-v0`` ids)."""


SIMULATOR_ONLY: dict[str, Minigame] = {}
"""Minigames that only the simulator plays (no ``SC2-`` id, not in pysc2's list), by map name: added with their
rules by :func:`envs.registry.register_map` (docs/extending.md)."""


def minigame(name: str) -> Minigame:
    """The :class:`Minigame` called ``name`` (an SC2LE one or :data:`SIMULATOR_ONLY`'s); ``ValueError`` listing
    the valid names otherwise."""
    game = MINIGAME_INFO.get(name) or SIMULATOR_ONLY.get(name)
    if game is None:
        raise ValueError(f"unknown SC2 minigame {name!r}; valid: {sorted([*MINIGAME_INFO, *SIMULATOR_ONLY])}")
    return game
