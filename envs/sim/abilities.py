"""The raw unit commands the simulator executes, on every map: their ability ids, and which pysc2 RAW functions
issue them (each family executes them on its own units: ``World.command`` in ``pickups/world.py`` and
``combat/world.py``)."""

from __future__ import annotations

SMART, MOVE_ABILITY, ATTACK_ABILITY, STOP_ABILITY, HOLD_ABILITY = 1, 3794, 3674, 3665, 3793
"""The raw interface's general ability ids the simulator executes (pysc2's ``Smart_*``, ``Move_*``, ``Attack_*``,
``Stop_quick``, ``HoldPosition_quick``)."""

TARGETED = (SMART, MOVE_ABILITY, ATTACK_ABILITY)
"""Executed on a point or a unit."""
QUICK = (STOP_ABILITY, HOLD_ABILITY)
"""Executed without a target."""

_FUNCTION_TYPES = {"raw_cmd": "quick", "raw_cmd_pt": "point", "raw_cmd_unit": "unit"}


def can_execute(function) -> bool:
    """Whether the simulator executes the pysc2 RAW function ``function``: ``no_op``, quick Stop / HoldPosition, Move /
    Smart / Attack to a point or a unit."""
    if function.name == "no_op":
        return True
    kind, ability = _FUNCTION_TYPES.get(function.function_type.__name__), function.ability_id
    return (ability in QUICK and kind == "quick") or (ability in TARGETED and kind in ("point", "unit"))
