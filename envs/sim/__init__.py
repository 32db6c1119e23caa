"""Simulator of SC2LE minigames speaking pysc2's protocol (a drop-in ``SC2Env``): the movement maps (``world``, ``rules``) and
the combat maps (``army``, ``combat``, ``combat_rules``, ``fog``).

``RULES`` (:mod:`envs.sim.rules`) is the one list of simulated maps, by name (``envs.maps.SIM_MAPS`` reads it).
Importing the package or its rules imports no pysc2: ``SimSC2Env`` (which does) loads on first access.
"""

from envs.sim.rules import RULES, Rules
from envs.sim.world import MapConfig, Region, World

__all__ = ["RULES", "MapConfig", "Region", "Rules", "SimSC2Env", "World"]


def __getattr__(name: str):
    if name == "SimSC2Env":
        from envs.sim.env import SimSC2Env

        return SimSC2Env
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
