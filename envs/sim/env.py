"""``SimSC2Env``: a pysc2 ``environment.Base`` that simulates the SC2LE minigames of :data:`envs.sim.catalog.RULES`.

It is a drop-in for ``sc2_env.SC2Env`` (same keyword arguments, same ``TimeStep``s): actions are
pysc2 ``FunctionCall``s, turned into ``sc_pb.Action`` protos by pysc2's ``features.transform_action``;
the simulator executes their raw unit commands (:mod:`envs.sim.abilities`). Observations take one of two paths
(``observations=``, :mod:`envs.sim.observation_paths`):

- ``"protocol"`` (the default here; the reference): ``sc_pb.ResponseObservation`` protos turned into numpy by pysc2's
  ``features.transform_obs``, every field;
- ``"direct"`` (the default of the gymnasium env, ``SC2MinigameEnv(sim_observations=)``): the arrays
  ``transform_obs`` would produce for the fields the contract's converter reads, written straight from the
  simulator's state, equal to the protocol path's field by field (``tests/envs/sim/test_sim_direct.py``).
  ``_response`` (the proto of the last observation) is then built on access.

An ``AgentInterfaceFormat`` with feature dimensions and no raw actions (pysc2's scripted agents, its random agent)
gets pysc2's feature-layer interface on the protocol path (:mod:`envs.sim.feature_interface`): the screen, the
camera, the selection and the UI actions. Raw-action formats (the gymnasium adapter's) never render a screen.

Reward per step is the change of the curriculum score (``score_cumulative[0]``), as in SC2Env. The episode ends
(``LAST``) at the map's timer, or when the map's rules say so (the combat maps: the last marine died).

Each map belongs to a family (``rules.kind``, :data:`envs.sim.families.FAMILIES`: ``pickups/``, ``combat/``) whose
world, rules and builders the env plays; the env itself knows no family.
"""

from __future__ import annotations

import functools

import numpy as np

from envs.maps import minigame
from envs.pysc2_compat import FeatureUnit, StepType, TimeStep, environment, features, sc2_env
from envs.sim.catalog import RULES
from envs.sim.families import FAMILIES
from envs.sim.feature_interface import FeatureInterface, wants_feature_interface
from envs.sim.geometry import MapConfig
from envs.sim.observation_paths import DIRECT, OBSERVATION_PATHS, PROTOCOL
from envs.sim.protocol_base import game_info

_TAG = int(FeatureUnit.tag)


MAX_GAME_LOOPS = 1_000_000
"""Largest ``step_mul`` / episode length in game loops (about 12 hours of game time at 22.4 loops/s)."""


def game_loops(name: str, value: int | None, default: int) -> int:
    """``value`` (``default`` when None or 0, as pysc2 reads them) once it is an int in [1, MAX_GAME_LOOPS]:
    a negative ``step_mul`` would run the game clock backwards and the episode would never end."""
    if value is None or (value == 0 and not isinstance(value, bool)):
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_GAME_LOOPS:
        raise ValueError(f"{name}: expected an int in [1, {MAX_GAME_LOOPS:,}], got {value!r}")
    return int(value)


class SimSC2Env(environment.Base):
    """Simulated single-agent minigame speaking pysc2's protocol (see module docstring)."""

    def __init__(
        self,
        *,
        map_name: str,
        players=None,
        agent_interface_format: sc2_env.AgentInterfaceFormat,
        step_mul: int | None = None,
        game_steps_per_episode: int | None = None,
        random_seed: int | None = None,
        map_config: MapConfig | None = None,
        observations: str = PROTOCOL,
    ):
        if observations not in OBSERVATION_PATHS:
            raise ValueError(f"observations: {observations!r} unknown; valid: {', '.join(OBSERVATION_PATHS)}")
        aif = agent_interface_format
        if observations == DIRECT and not (aif.use_raw_units and aif.use_raw_actions):
            raise ValueError("observations='direct' needs raw units and raw actions (use_raw_units, use_raw_actions)")
        if map_name not in RULES:
            raise ValueError(f"map {map_name!r} has no simulator; simulated maps: {sorted(RULES)}")
        self._rules = RULES[map_name]
        if map_config is not None and map_config != self._rules.map_config:
            raise ValueError(f"map_config: {map_name} is played on {self._rules.map_config}, got {map_config}")
        self._config = self._rules.map_config
        family = FAMILIES[self._rules.kind]
        self._step_mul = game_loops("step_mul", step_mul, 8)
        self._episode_loops = game_loops(
            "game_steps_per_episode", game_steps_per_episode, minigame(map_name).game_loops
        )
        players = players or [sc2_env.Agent(sc2_env.Race.terran)]
        self._aif = agent_interface_format
        self._game_info = game_info(players, [agent_interface_format], self._config)
        new_features = functools.partial(
            features.features_from_game_info,
            game_info=self._game_info[0], agent_interface_format=aif, map_name=map_name,
        )  # fmt: skip
        self._features = new_features()
        self._actions = new_features() if observations == DIRECT else self._features
        """The ``Features`` whose ``transform_action`` turns the agent's calls into protos (see :meth:`_unit_tag`)."""
        self._row_tags: list[int] = []
        """The direct path's last raw units' tags, by row (see :meth:`_unit_tag`); empty on the protocol path."""
        minimap = agent_interface_format.feature_dimensions.minimap
        minimap = (int(minimap.x), int(minimap.y))
        self._builder = family.protocol(self._rules, minimap)
        self._view = family.view(self._rules, minimap)
        self._direct = None
        if observations == DIRECT:  # pysc2's world -> raw-units transform, which the direct path applies itself
            self._direct = family.direct(self._rules, minimap, self._features._world_to_minimap_px)
        self._interface = None
        """pysc2's feature-layer interface (:mod:`envs.sim.feature_interface`), for formats without raw actions."""
        if wants_feature_interface(aif):
            self._interface = FeatureInterface(
                features=self._features, aif=aif, config=self._config, map_name=map_name,
                select_new_units=family.selects_new_units,
            )  # fmt: skip
        self.observations = observations
        self._rng = np.random.default_rng(random_seed)
        self._world = None
        """The map's world (its family's ``World``, e.g. :class:`~envs.sim.combat.world.CombatWorld`); None between
        episodes."""
        self._next_tag = 1
        """Unit tags continue across episodes: a tag never names two units in one env's life."""
        self._state: tuple | None = None
        """``(world, game_loop, score, *view)`` of the last observation, the builders' arguments (the world is not
        changed until the next step)."""
        self._proto = None
        self._game_loop = self._score = 0

    def reseed(self, seed: int | None) -> None:
        """Restart the simulator's random stream (the real game fixes its seed at launch: ``random_seed``)."""
        self._rng = np.random.default_rng(seed)

    @property
    def game_info(self):
        return self._game_info

    def observation_spec(self):
        return (self._features.observation_spec(),)

    def action_spec(self):
        return (self._features.action_spec(),)

    @property
    def _response(self):
        """The ``sc_pb.ResponseObservation`` of the last observation (the direct path builds it on first access)."""
        if self._proto is None and self._state is not None:
            self._proto = self._builder.build(*self._state)
        return self._proto

    def reset(self):
        self._end_world()
        self._builder.reset()
        self._view.reset()
        if self._direct is not None:
            self._direct.reset()
        if self._interface is not None:
            self._interface.reset()
        self._world = self._rules.new_world(self._next_tag)
        self._rules.reset(self._world, self._rng)
        self._game_loop = self._score = 0
        return self._timestep(StepType.FIRST, 0.0, 0.0)

    def step(self, actions, step_mul=None):
        if self._world is None:
            return self.reset()
        if len(actions) != 1:
            raise ValueError(f"expected 1 action (single-agent minigame), got {len(actions)}")
        proto = self._proto.observation if self._direct is None else None  # raw actions read no observation proto
        self._apply(self._actions.transform_action(proto, actions[0]))
        loops = min(game_loops("step_mul", step_mul, self._step_mul), self._episode_loops - self._game_loop)
        reward = self._rules.step(self._world, loops, self._rng)
        self._game_loop += loops
        self._score += reward
        if self._game_loop >= self._episode_loops or self._rules.finished(self._world):
            ts = self._timestep(StepType.LAST, float(reward), 0.0)
            self._end_world()
            return ts
        return self._timestep(StepType.MID, float(reward), 1.0)

    def _end_world(self) -> None:
        if self._world is not None:
            self._next_tag = self._world.next_tag
            self._world = None

    def _apply(self, action) -> None:
        if self._interface is not None:
            for command in self._interface.act(action):
                self._world.command(*command)
        if not action.HasField("action_raw") or not action.action_raw.HasField("unit_command"):
            return  # no_op (or an action the minigames do not use)
        cmd = action.action_raw.unit_command
        point = (
            (cmd.target_world_space_pos.x, cmd.target_world_space_pos.y)
            if cmd.HasField("target_world_space_pos")
            else None
        )
        target = self._unit_tag(cmd.target_unit_tag) if cmd.HasField("target_unit_tag") else 0
        tags = {self._unit_tag(unit) for unit in cmd.unit_tags}
        self._world.command(tags, cmd.ability_id, point, target, cmd.queue_command)

    def _unit_tag(self, unit: int) -> int:
        """The tag of the unit an action names. pysc2's raw functions name a unit by its row in the last ``raw_units``
        (a value past the last row is taken as a tag), and ``transform_action`` maps rows to tags with the raw units
        that ``transform_obs`` last made on the same ``Features``. The protocol path gets them mapped so. The direct
        path makes no ``transform_obs`` call: its actions go through a ``Features`` of their own that never sees one
        (``self._actions``, which passes rows through as tags), and the env maps the rows here, the same way, with
        the tags of the raw units it wrote last (``self._row_tags``; empty on the protocol path: values pass)."""
        return self._row_tags[unit] if unit < len(self._row_tags) else unit

    def _timestep(self, step_type, reward: float, discount: float):
        self._state = (self._world, self._game_loop, self._score, *self._view(self._world))
        if self._direct is None:
            self._proto = self._builder.build(*self._state)
            if self._interface is not None:
                self._interface.observe(self._proto)
            obs = self._features.transform_obs(self._proto)
        else:
            self._proto = None
            obs = self._direct.build(*self._state)
            raw = obs["raw_units"]
            self._row_tags = raw[:, _TAG].tolist() if len(raw) else []
        return (TimeStep(step_type=step_type, reward=reward, discount=discount, observation=obs),)

    def frame(self):
        """The simulator's state at the last observation as a replay :class:`envs.render.Frame` on the raw-unit grid
        (:mod:`envs.sim.render`: every unit, its health and order target, the playable area, game loop and score)."""
        if self._state is None:
            raise RuntimeError("frame() before the first reset()")
        from envs.sim.render import sim_frame

        size = self._aif.raw_resolution or self._aif.feature_dimensions.minimap  # the grid of the raw units
        grid = (int(size.x), int(size.y))
        return sim_frame(self._rules, self._state, self._features._world_to_minimap_px, grid, self._rules.name)

    def save_replay(self, *args, **kwargs):
        """The simulator records no replays."""

    def close(self):
        if hasattr(self, "_world"):  # pysc2's Base.__del__ calls close() also when __init__ raised
            self._end_world()
