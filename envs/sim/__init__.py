"""Simulator of SC2LE minigames speaking pysc2's protocol (a drop-in ``SC2Env``), one folder per map family with the
same files: ``pickups/`` (MoveToBeacon, CollectMineralShards), ``combat/`` (DefeatRoaches,
DefeatZerglingsAndBanelings, FindAndDefeatZerglings) and ``economy/`` (CollectMineralsAndGas, BuildMarines);
:mod:`envs.sim.families` says what each file holds. pysc2's feature-layer interface (screen, camera, selection) for
pysc2's own agents: :mod:`envs.sim.feature_interface`.

``RULES`` (:mod:`envs.sim.catalog`) is the one list of simulated maps, by name (``SIM_MAPS``: the ``Sim-`` ids).
Importing the package or its catalog imports no pysc2: ``SimSC2Env`` (which does) loads on first access.
The simulator imports nothing of the adapter (``envs/sc2/``), which uses it as a backend.
"""

from envs.sim.catalog import RULES, SIM_MAPS
from envs.sim.geometry import MapConfig, Region
from envs.sim.observation_paths import DEFAULT_OBSERVATIONS, OBSERVATION_PATHS

__all__ = ["DEFAULT_OBSERVATIONS", "OBSERVATION_PATHS", "RULES", "SIM_MAPS", "MapConfig", "Region", "SimSC2Env"]


def __getattr__(name: str):
    if name == "SimSC2Env":
        from envs.sim.env import SimSC2Env

        return SimSC2Env
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
