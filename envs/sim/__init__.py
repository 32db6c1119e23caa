"""Simulator of MoveToBeacon and CollectMineralShards speaking pysc2's protocol (a drop-in ``SC2Env``)."""

from envs.sim.env import SimSC2Env
from envs.sim.rules import RULES, Rules
from envs.sim.world import MapConfig, Region, World

__all__ = ["RULES", "MapConfig", "Region", "Rules", "SimSC2Env", "World"]
