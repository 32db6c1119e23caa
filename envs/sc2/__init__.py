"""SC2 minigames through pysc2 (``pysc2_evolved``): the gymnasium adapter, its one timestep converter,
the backends (game, simulator, pysc2's SC2TestEnv), minigame facts and scripted agents."""

from envs.maps import MINIGAME_INFO, Minigame, minigame
from envs.sc2.backends import BACKENDS, SC2NotInstalledError
from envs.sc2.convert import ENTITY_FEATURES, SCALARS, SPATIAL, ContractConfig, TimestepConverter
from envs.sc2.env import SC2MinigameEnv, make_sc2_env
from envs.sc2.scripted import SCRIPTED_AGENTS, run_episode
from envs.sim.catalog import SIM_MAPS

__all__ = [
    "BACKENDS",
    "ENTITY_FEATURES",
    "MINIGAME_INFO",
    "SCALARS",
    "SCRIPTED_AGENTS",
    "SIM_MAPS",
    "SPATIAL",
    "ContractConfig",
    "Minigame",
    "SC2MinigameEnv",
    "SC2NotInstalledError",
    "TimestepConverter",
    "make_sc2_env",
    "minigame",
    "run_episode",
]
