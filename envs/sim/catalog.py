"""The simulated minigames: every map the simulator plays, by name, with its rules.

The one list of them (numpy only, no pysc2: ``import envs`` reads :data:`SIM_MAPS` to register the
``Sim-<map>-v0`` ids). A map's rules live in the folder of its family (``pickups/rules.py``, ``combat/rules.py``);
``rules.kind`` names the family, whose world and observation builders :data:`envs.sim.families.FAMILIES` holds.
Adding a map of an existing family: its rules in that family's ``rules.py``, listed here (the id follows; see
:mod:`envs.maps` for the rest). A new family: a folder with the same files (``world.py``, ``rules.py``,
``protocol.py``, ``direct.py``), its entry in :data:`~envs.sim.families.FAMILIES`, its rules listed here.
A map of your own (a variant of an existing family's rules) needs no edit here: :func:`envs.registry.register_map` from
your module (docs/extending.md).
"""

from __future__ import annotations

from envs.maps import MINIGAME_INFO
from envs.sim.combat.rules import COMBAT_RULES, CombatRules
from envs.sim.economy.rules import ECONOMY_RULES, EconomyRules
from envs.sim.pickups.rules import PICKUP_RULES, Rules

RULES: dict[str, Rules | CombatRules | EconomyRules] = {
    r.name: r for r in (*PICKUP_RULES, *COMBAT_RULES, *ECONOMY_RULES)
}
"""The simulated minigames by map name."""

SIM_MAPS: tuple[str, ...] = tuple(RULES)
"""The built-in minigames the simulator plays, in :data:`RULES` order (the ``Sim-<map>-v0`` ids); maps added by
:func:`envs.registry.register_map` are in :data:`RULES` only."""

assert set(SIM_MAPS) <= set(MINIGAME_INFO), f"simulated maps not in MINIGAME_INFO: {set(SIM_MAPS) - set(MINIGAME_INFO)}"
