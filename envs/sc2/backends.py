"""What runs under the adapter: the real game, the simulator, or pysc2's ``SC2TestEnv``.

All three take ``sc2_env.SC2Env``'s keyword arguments and return its ``TimeStep``s; ``BACKENDS`` maps
a name to a factory ``(map_name, aif, step_mul, random_seed, observations) -> pysc2 environment``;
``observations`` selects the simulator's observation path (:mod:`envs.sim.observation_paths`: its default
there); the game and SC2TestEnv speak the protocol only and accept ``"protocol"``.

The real game gets ``game_steps_per_episode`` = the map's timer: the maps' timer only pauses the
game (their trigger scripts never end it), so without it pysc2 would never report ``LAST``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from envs.maps import minigame
from envs.pysc2_compat import PACKAGED_MAPS_DIR, maps, mock_sc2_env, run_configs, sc2_env
from envs.sim.catalog import SIM_MAPS
from envs.sim.env import SimSC2Env
from envs.sim.observation_paths import DEFAULT_OBSERVATIONS, PROTOCOL


class SC2NotInstalledError(RuntimeError):
    """StarCraft II (or the map) is not where pysc2 looks for it."""


def _players():
    return [sc2_env.Agent(sc2_env.Race.terran)]


def _protocol_only(backend: str, observations: str) -> None:
    if observations != PROTOCOL:
        raise ValueError(
            f"sim_observations={observations!r}: backend {backend!r} speaks pysc2's protocol only; the direct "
            "observation path is the simulator's (backend 'sim')"
        )


def _game(map_name: str, aif, step_mul: int, random_seed: int | None, observations: str = PROTOCOL):
    _protocol_only("game", observations)
    sim = (
        f"use the simulator id 'perceiver_rl/Sim-{map_name}-v0' instead"
        if map_name in SIM_MAPS
        else f"the simulator covers only {', '.join(f'perceiver_rl/Sim-{m}-v0' for m in SIM_MAPS)}"
    )
    sc2path = os.environ.get("SC2PATH", "<unset>")
    try:
        run_config = run_configs.get()
    except FileNotFoundError as err:
        raise SC2NotInstalledError(
            f"StarCraft II is not installed where pysc2 looks (SC2PATH={sc2path}; {err}): install it and set "
            f"SC2PATH, with the minigame maps in $SC2PATH/Maps/mini_games, or {sim}"
        ) from err
    map_file = os.path.join(run_config.data_dir, "Maps", maps.get(map_name).path)
    if not os.path.exists(map_file):
        raise SC2NotInstalledError(
            f"StarCraft II found (SC2PATH={sc2path}) but not the map {map_file}: copy {PACKAGED_MAPS_DIR}/*.SC2Map "
            f"to $SC2PATH/Maps/mini_games/, or {sim}"
        )
    return sc2_env.SC2Env(
        map_name=map_name, players=_players(), agent_interface_format=aif, step_mul=step_mul,
        game_steps_per_episode=minigame(map_name).game_loops, random_seed=random_seed,
    )  # fmt: skip


def _sim(map_name: str, aif, step_mul: int, random_seed: int | None, observations: str = DEFAULT_OBSERVATIONS):
    return SimSC2Env(
        map_name=map_name, players=_players(), agent_interface_format=aif, step_mul=step_mul, random_seed=random_seed,
        observations=observations,
    )  # fmt: skip


def _test(map_name: str, aif, step_mul: int, random_seed: int | None, observations: str = PROTOCOL):
    _protocol_only("test", observations)
    return mock_sc2_env.SC2TestEnv(
        map_name=map_name, players=_players(), agent_interface_format=aif, step_mul=step_mul, random_seed=random_seed
    )


BACKENDS: dict[str, Callable] = {"game": _game, "sim": _sim, "test": _test}
