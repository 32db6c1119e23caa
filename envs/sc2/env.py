"""``SC2MinigameEnv``: a gymnasium env over a pysc2 environment (real game, simulator or SC2TestEnv).

Raw interface (``use_raw_units``, ``use_raw_actions``) plus minimap feature layers at
``spatial_size``; raw unit coordinates use the same grid (``raw_resolution = spatial_size``).
Observations and actions follow :mod:`envs.spec` through :class:`envs.sc2.convert.TimestepConverter`.

- reward: the pysc2 timestep's reward (change of the map's curriculum score) per step.
- ``terminated`` when the map ends the episode (its timer); never ``truncated``.
- info: ``score_cumulative (13,)``, ``game_loop``, ``entities_dropped``, ``illegal_action`` (reason or
  ``""``), ``illegal_actions`` / ``episode_return`` / ``episode_length`` (running, for this episode).
- ``obs_spec`` / ``act_spec``: the contract (:class:`ObservationSpec` / :class:`ActionSpec`).
- seeding: the simulator is reseeded by ``reset(seed=...)``; the real game fixes its seed at launch
  (``random_seed``).
- ``action_functions``: the pysc2 ``RAW_FUNCTIONS`` names exposed as action types, in index order (``None``:
  the minigame's set, :data:`envs.maps.MINIGAME_INFO`); e.g. ``["no_op", "Move_pt"]`` for point
  targeting only. ``no_op`` must be one of them; on the simulator each must be one it executes.
- ``plane_pool``: the ``spatial`` feature planes average-pooled by this factor, ``(4, H/p, W/p)`` (a divisor of
  ``spatial_size``; the location grid and ``location_mask`` keep full resolution). A policy that pools the planes
  first (``model.policy.spatial_pool``) reads the same numbers from 64x fewer bytes at ``p = 8``.
- ``sim_observations``: the simulator's observation path (:mod:`envs.sim.observation_paths`), ``"direct"`` (the
  contract's pysc2 fields written straight from the simulator's state) or ``"protocol"`` (protos through pysc2's
  ``transform_obs``, the reference); both give identical observations, rewards and episodes. ``None`` = the
  backend's own: :data:`envs.sim.observation_paths.DEFAULT_OBSERVATIONS` on the simulator; the game and ``test``
  backends take only ``"protocol"`` (``"direct"`` raises ``ValueError``).
"""

from __future__ import annotations

import math

import gymnasium as gym

from envs.episode import EpisodeGuard
from envs.maps import minigame
from envs.pysc2_compat import RAW_FUNCTIONS, StepType, features
from envs.sc2.backends import BACKENDS
from envs.sc2.convert import ContractConfig, TimestepConverter
from envs.sim.abilities import can_execute
from envs.sim.env import game_loops
from envs.sim.observation_paths import OBSERVATION_PATHS

SCREEN_SIZE = 8
"""pysc2 needs screen feature dimensions beside the minimap ones; the contract uses no screen layer."""


class SC2MinigameEnv(gym.Env):
    """One SC2LE minigame as a gymnasium env (see module docstring).

    ``step()`` after the episode ended (``terminated``) raises :class:`envs.episode.StepAfterEndError` (a
    ``RuntimeError``): call ``reset()``, which starts a new episode with fresh counters. ``step()`` before the
    first ``reset()`` raises ``ValueError``; so does an action outside the action space, naming the field.
    """

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
        plane_pool: int = 1,
        action_functions: list[str] | tuple[str, ...] | None = None,
        sim_observations: str | None = None,
    ):
        self.game = minigame(map_name)
        step_mul = game_loops("step_mul", step_mul, 8)  # every backend: pysc2's own game does not check it
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r} unknown; valid: {sorted(BACKENDS)}")
        if sim_observations not in (None, *OBSERVATION_PATHS):
            raise ValueError(f"sim_observations: {sim_observations!r} unknown; valid: {', '.join(OBSERVATION_PATHS)}")
        functions = self.game.action_functions if action_functions is None else action_functions
        functions = _action_functions(functions, backend)
        config = ContractConfig(
            max_entities=max_entities, max_selected=max_selected, spatial_size=spatial_size, plane_pool=plane_pool
        )
        self.converter = TimestepConverter(self.game, config, functions)
        self.obs_spec, self.act_spec = self.converter.obs_spec, self.converter.act_spec
        self.observation_space = self.obs_spec.space()
        self.action_space = self.converter.action_space
        aif = features.AgentInterfaceFormat(
            feature_dimensions=features.Dimensions(screen=SCREEN_SIZE, minimap=spatial_size),
            raw_resolution=spatial_size, use_raw_units=True, use_raw_actions=True,
            max_selected_units=max_selected,
        )  # fmt: skip
        self.backend_name = backend
        paths = {} if sim_observations is None else {"observations": sim_observations}
        self._env = BACKENDS[backend](map_name, aif, step_mul, random_seed, **paths)
        self._stats = {"illegal_actions": 0, "episode_return": 0.0, "episode_length": 0}
        self._episode = EpisodeGuard()
        self._timestep = None
        """The last pysc2 timestep (replay frames: :meth:`frame`)."""
        self._acted: tuple | None = None
        """``(action, FunctionCall, illegal reason, timestep it was chosen from)`` of the last step (:meth:`action_view`)."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None and hasattr(self._env, "reseed"):
            self._env.reseed(seed)
        self._stats = {"illegal_actions": 0, "episode_return": 0.0, "episode_length": 0}
        self._timestep, self._acted = self._env.reset()[0], None
        obs, info = self.converter.observation(self._timestep)
        self._episode.started()
        return obs, {**info, "illegal_action": "", **self._stats}

    def step(self, action):
        self._episode.check()
        call, illegal = self.converter.action(action)
        timestep = self._env.step([call])[0]
        self._acted, self._timestep = (action, call, illegal, self._timestep), timestep
        obs, info = self.converter.observation(timestep)
        reward = float(timestep.reward)
        if not math.isfinite(reward):
            raise ValueError(f"timestep reward: expected a finite number, got {reward}")
        self._stats["illegal_actions"] += bool(illegal)
        self._stats["episode_return"] += reward
        self._stats["episode_length"] += 1
        terminated = timestep.step_type == StepType.LAST
        self._episode.record(terminated, False)
        return obs, reward, terminated, False, {**info, "illegal_action": illegal, **self._stats}

    def frame(self):
        """The last observation as a replay :class:`envs.render.Frame` (:mod:`envs.sc2.render`: the simulator's state,
        or the real game's raw units), with the step counter and the observation's entity slots."""
        from envs.sc2.render import env_frame

        return env_frame(self)

    def action_view(self):
        """The action the last ``step()`` executed as an :class:`envs.render.ActionView` (None after ``reset()``)."""
        from envs.sc2.render import env_action

        return env_action(self)

    def close(self):
        if getattr(self, "_env", None) is not None:
            self._env.close()
            self._env = None


def _action_functions(names, backend: str) -> tuple[str, ...]:
    """``names`` checked as the ``action_functions`` kwarg: ``ValueError`` naming the key and the bad name."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"action_functions: expected a list of pysc2 RAW_FUNCTIONS names, got {names!r}")
    names = tuple(names)
    for name in names:
        try:
            RAW_FUNCTIONS[name]
        except KeyError:
            raise ValueError(
                f"action_functions: {name!r} is not a pysc2 RAW_FUNCTIONS name (e.g. no_op, Move_pt, Move_unit)"
            ) from None
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"action_functions: {', '.join(repeated)} listed more than once")
    if "no_op" not in names:
        raise ValueError(f"action_functions: must contain 'no_op' (always legal), got {list(names)}")
    if backend == "sim":
        for name in names:
            if not can_execute(RAW_FUNCTIONS[name]):
                raise ValueError(
                    f"action_functions: the simulator cannot execute {name!r} (it executes no_op, Move / Smart / "
                    "Attack to a point or a unit, Stop_quick, HoldPosition_quick, and the economy maps' Harvest_Gather_unit, "
                    "Train_SCV_quick, Train_Marine_quick, Build_SupplyDepot_pt, Build_Barracks_pt, Build_Refinery_pt)"
                )
    return names


def make_sc2_env(map_name: str, **kwargs) -> SC2MinigameEnv:
    """Registry entry point (``perceiver_rl/SC2-<map>-v0`` and ``perceiver_rl/Sim-<map>-v0``)."""
    return SC2MinigameEnv(map_name, **kwargs)


__all__ = ["SC2MinigameEnv", "make_sc2_env"]
