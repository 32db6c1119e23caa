"""The raw unit commands the simulator executes, on every map: their ability ids, and which pysc2 RAW functions
issue them (each family executes them on its own units: ``World.command`` in ``pickups/world.py``,
``combat/world.py`` and ``economy/world.py``; a family ignores the commands its units cannot execute, as the game
rejects them)."""

from __future__ import annotations

SMART, MOVE_ABILITY, ATTACK_ABILITY, STOP_ABILITY, HOLD_ABILITY = 1, 3794, 3674, 3665, 3793
"""The raw interface's general ability ids the simulator executes (pysc2's ``Smart_*``, ``Move_*``, ``Attack_*``,
``Stop_quick``, ``HoldPosition_quick``)."""

TARGETED = (SMART, MOVE_ABILITY, ATTACK_ABILITY)
"""Executed on a point or a unit."""
QUICK = (STOP_ABILITY, HOLD_ABILITY)
"""Executed without a target."""

ECONOMY_FUNCTIONS: dict[int, str] = {
    3666: "unit",  # Harvest_Gather_unit
    524: "quick",  # Train_SCV_quick
    560: "quick",  # Train_Marine_quick
    319: "point",  # Build_SupplyDepot_pt
    321: "point",  # Build_Barracks_pt
    320: "unit",  # Build_Refinery_pt (on a geyser: pysc2's raw_cmd_unit)
}
"""The economy maps' commands (:mod:`envs.sim.economy.commands`), by ability id: the kind of function that issues
each (``MINIGAME_INFO``'s CollectMineralsAndGas and BuildMarines sets)."""

_FUNCTION_TYPES = {"raw_cmd": "quick", "raw_cmd_pt": "point", "raw_cmd_unit": "unit"}


def can_execute(function) -> bool:
    """Whether the simulator executes the pysc2 RAW function ``function``: ``no_op``, quick Stop / HoldPosition, Move /
    Smart / Attack to a point or a unit, and the economy maps' harvest, train and build functions
    (:data:`ECONOMY_FUNCTIONS`)."""
    if function.name == "no_op":
        return True
    kind, ability = _FUNCTION_TYPES.get(function.function_type.__name__), function.ability_id
    return (
        (ability in QUICK and kind == "quick")
        or (ability in TARGETED and kind in ("point", "unit"))
        or (ECONOMY_FUNCTIONS.get(ability) == kind and kind is not None)
    )
