"""``SC2MinigameEnv``: a gymnasium env over a pysc2 environment (real game, simulator or SC2TestEnv).

Raw interface (``use_raw_units``, ``use_raw_actions``) plus minimap feature layers at
``spatial_size``; raw unit coordinates use the same grid (``raw_resolution = spatial_size``).
Observations and actions follow :mod:`agents.spec` through :class:`envs.sc2.convert.TimestepConverter`.

- reward: the pysc2 timestep's reward (change of the map's curriculum score) per step.
- ``terminated`` when the map ends the episode (its timer); never ``truncated``.
- info: ``score_cumulative (13,)``, ``game_loop``, ``entities_dropped``, ``illegal_action`` (reason or
  ``""``), ``illegal_actions`` / ``episode_return`` / ``episode_length`` (running, for this episode).
- ``obs_spec`` / ``act_spec``: the contract (:class:`ObservationSpec` / :class:`ActionSpec`).
- seeding: the simulator is reseeded by ``reset(seed=...)``; the real game fixes its seed at launch
  (``random_seed``).
"""

from __future__ import annotations

import gymnasium as gym

from envs.sc2.backends import BACKENDS
from envs.sc2.convert import ContractConfig, TimestepConverter
from envs.sc2.minigames import minigame
from envs.sc2.pysc2_compat import StepType, features

SCREEN_SIZE = 8
"""pysc2 needs screen feature dimensions beside the minimap ones; the contract uses no screen layer."""


class SC2MinigameEnv(gym.Env):
    """One SC2LE minigame as a gymnasium env (see module docstring)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        map_name: str = "MoveToBeacon",
        *,
        backend: str = "game",
        step_mul: int = 8,
        random_seed: int | None = None,
        max_entities: int = 32,
        max_selected: int = 4,
        spatial_size: int = 64,
    ):
        self.game = minigame(map_name)
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r} unknown; valid: {sorted(BACKENDS)}")
        config = ContractConfig(max_entities=max_entities, max_selected=max_selected, spatial_size=spatial_size)
        self.converter = TimestepConverter(self.game, config)
        self.obs_spec, self.act_spec = self.converter.obs_spec, self.converter.act_spec
        self.observation_space = self.obs_spec.space()
        self.action_space = self.act_spec.space()
        aif = features.AgentInterfaceFormat(
            feature_dimensions=features.Dimensions(screen=SCREEN_SIZE, minimap=spatial_size),
            raw_resolution=spatial_size, use_raw_units=True, use_raw_actions=True,
            max_selected_units=max_selected,
        )  # fmt: skip
        self.backend_name = backend
        self._env = BACKENDS[backend](map_name, aif, step_mul, random_seed)
        self._stats = {"illegal_actions": 0, "episode_return": 0.0, "episode_length": 0}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None and hasattr(self._env, "reseed"):
            self._env.reseed(seed)
        self._stats = {"illegal_actions": 0, "episode_return": 0.0, "episode_length": 0}
        obs, info = self.converter.observation(self._env.reset()[0])
        return obs, {**info, "illegal_action": "", **self._stats}

    def step(self, action):
        call, illegal = self.converter.action(action)
        timestep = self._env.step([call])[0]
        obs, info = self.converter.observation(timestep)
        reward = float(timestep.reward)
        self._stats["illegal_actions"] += bool(illegal)
        self._stats["episode_return"] += reward
        self._stats["episode_length"] += 1
        terminated = timestep.step_type == StepType.LAST
        return obs, reward, terminated, False, {**info, "illegal_action": illegal, **self._stats}

    def close(self):
        if getattr(self, "_env", None) is not None:
            self._env.close()
            self._env = None


def make_sc2_env(map_name: str, **kwargs) -> SC2MinigameEnv:
    """Registry entry point (``perceiver_rl/SC2-<map>-v0`` and ``perceiver_rl/Sim-<map>-v0``)."""
    return SC2MinigameEnv(map_name, **kwargs)


__all__ = ["SC2MinigameEnv", "make_sc2_env"]
