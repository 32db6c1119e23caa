"""``SimSC2Env``: a pysc2 ``environment.Base`` that simulates the SC2LE minigames of :data:`envs.sim.rules.RULES`.

It is a drop-in for ``sc2_env.SC2Env`` (same keyword arguments, same ``TimeStep``s): actions are
pysc2 ``FunctionCall``s, turned into ``sc_pb.Action`` protos by pysc2's ``features.transform_action``.
Observations take one of two paths (``observations=``):

- ``"protocol"`` (the default here; the reference): ``sc_pb.ResponseObservation`` protos
  (:mod:`envs.sim.protocol`) turned into numpy by pysc2's ``features.transform_obs``, every field;
- ``"direct"`` (the default of the gymnasium env, ``SC2MinigameEnv(sim_observations=)``): the arrays
  ``transform_obs`` would produce for the fields the contract's converter reads, written straight from the
  simulator's state (:mod:`envs.sim.direct`), equal to the protocol path's field by field
  (``tests/test_sim_direct.py``). ``_response`` (the proto of the last observation) is then built on access.

Reward per step is the change of the curriculum score (``score_cumulative[0]``), as in SC2Env. The episode ends
(``LAST``) at the map's timer, or when the map's rules say so (the combat maps: the last marine died).

Two families of maps (``Rules.kind``, :data:`FAMILIES`): the movement maps (marines and neutral pickups,
:mod:`envs.sim.world`, :mod:`envs.sim.protocol`, :mod:`envs.sim.direct`) and the combat maps (two players' units,
:mod:`envs.sim.army`, :mod:`envs.sim.combat_protocol`, :mod:`envs.sim.combat_direct`, fog :mod:`envs.sim.fog`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from envs.sc2.minigames import minigame
from envs.sc2.pysc2_compat import FeatureUnit, StepType, TimeStep, environment, features, sc2_env
from envs.sim.combat_direct import CombatDirectBuilder
from envs.sim.combat_protocol import CombatObservationBuilder
from envs.sim.direct import DirectObservationBuilder
from envs.sim.fog import Fog
from envs.sim.protocol import ObservationBuilder, game_info
from envs.sim.rules import RULES
from envs.sim.world import MapConfig, World

ABILITY_EFFECTS: dict[int, str] = {  # the movement maps; the combat maps: envs.sim.army.CombatWorld.command
    1: "move",  # Smart: on the ground = move; on a beacon / shard (neutral, not attackable) = move to it
    3794: "move",  # Move (to a point, or to a unit)
    3674: "move",  # Attack: there is nothing attackable on these maps (attack-move to a point; on a unit: move to it)
    3665: "stop",  # Stop
    3793: "stop",  # HoldPosition
}
"""Ability ids the simulator understands; the game rejects other abilities for marines, the simulator ignores them.

A "move" with a target unit (``Move_unit``, ``Smart_unit``, ``Attack_unit``) sends the marines to that pickup's
current position; the order shows ``target_unit_tag`` in the raw units and ends on arrival or when the pickup is
taken (respawned pickups get new tags), as the game drops an order whose target is gone. A target that is not an
existing pickup (a marine, a stale tag) is ignored, as a command the simulator cannot execute."""

OBSERVATION_PATHS = ("direct", "protocol")
"""Values of ``SimSC2Env(observations=)``: see the module docstring."""

_FUNCTION_TYPES = {"raw_cmd": "quick", "raw_cmd_pt": "point", "raw_cmd_unit": "unit"}


def can_execute(function) -> bool:
    """Whether the simulator executes the pysc2 RAW function ``function`` (``no_op`` or a marine command of
    :data:`ABILITY_EFFECTS`: quick Stop / HoldPosition, Move / Smart / Attack to a point or a unit)."""
    if function.name == "no_op":
        return True
    kind = _FUNCTION_TYPES.get(function.function_type.__name__)
    effect = ABILITY_EFFECTS.get(function.ability_id)
    return (effect == "stop" and kind == "quick") or (effect == "move" and kind in ("point", "unit"))


_TAG = int(FeatureUnit.tag)


def _command_pickups(world: World, tags, ability_id: int, point, target: int, queued: bool) -> None:
    """A raw unit command on a movement map (:data:`ABILITY_EFFECTS`)."""
    effect = ABILITY_EFFECTS.get(ability_id)
    if effect is None:
        return
    if effect == "move" and point is None and not (target and world.is_pickup(target)):
        return  # no point and no pickup to go to: the command cannot be executed
    world.command(set(tags), effect, point, queued, ability_id, target_tag=target if point is None else 0)


def _command_combat(world, tags, ability_id: int, point, target: int, queued: bool) -> None:
    world.command(set(tags), ability_id, point, target, queued)


class _NoView:
    """The movement maps have no fog: their builders take no view."""

    def reset(self) -> None:
        pass

    def __call__(self, world) -> tuple:
        return ()


class _FogView:
    def __init__(self, rules, minimap: tuple[int, int]):
        self._fog = Fog(rules.map_config.map_size, minimap, rules.fog)

    def reset(self) -> None:
        self._fog.reset()

    def __call__(self, world) -> tuple:
        return (self._fog.update(world),)


@dataclass(frozen=True)
class Family:
    """How the simulator plays one kind of map (``Rules.kind``): its observation builders (protocol path
    ``(rules, minimap)``, direct path ``(rules, minimap, world_to_raw)``; both ``reset()`` and ``build(world,
    game_loop, score, *view)``), the view passed to them, and the execution of a raw unit command ``(world, tags,
    ability_id, point or None, target tag or 0, queued)``."""

    protocol: Callable[..., Any]
    direct: Callable[..., Any]
    view: Callable[..., Any]
    command: Callable[..., None]


FAMILIES: dict[str, Family] = {
    "pickups": Family(
        protocol=lambda rules, minimap: ObservationBuilder(rules, rules.map_config, minimap),
        direct=lambda rules, minimap, to_raw: DirectObservationBuilder(rules, rules.map_config, minimap, to_raw),
        view=lambda rules, minimap: _NoView(),
        command=_command_pickups,
    ),
    "combat": Family(
        protocol=CombatObservationBuilder, direct=CombatDirectBuilder, view=_FogView, command=_command_combat
    ),
}
"""Simulator families by ``Rules.kind``."""


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
        observations: str = "protocol",
    ):
        if observations not in OBSERVATION_PATHS:
            raise ValueError(f"observations: {observations!r} unknown; valid: {', '.join(OBSERVATION_PATHS)}")
        aif = agent_interface_format
        if observations == "direct" and not (aif.use_raw_units and aif.use_raw_actions):
            raise ValueError("observations='direct' needs raw units and raw actions (use_raw_units, use_raw_actions)")
        if map_name not in RULES:
            raise ValueError(f"map {map_name!r} has no simulator; simulated maps: {sorted(RULES)}")
        self._rules = RULES[map_name]
        if map_config is not None and map_config != self._rules.map_config:
            raise ValueError(f"map_config: {map_name} is played on {self._rules.map_config}, got {map_config}")
        self._config = self._rules.map_config
        self._family = FAMILIES[self._rules.kind]
        self._step_mul = step_mul or 8
        self._episode_loops = game_steps_per_episode or minigame(map_name).game_loops
        players = players or [sc2_env.Agent(sc2_env.Race.terran)]
        self._aif = agent_interface_format
        self._game_info = game_info(players, [agent_interface_format], self._config)
        self._features = features.features_from_game_info(
            game_info=self._game_info[0], agent_interface_format=agent_interface_format, map_name=map_name
        )
        minimap = agent_interface_format.feature_dimensions.minimap
        minimap = (int(minimap.x), int(minimap.y))
        self._builder = self._family.protocol(self._rules, minimap)
        self._view = self._family.view(self._rules, minimap)
        self._direct = None
        if observations == "direct":  # pysc2's world -> raw-units transform, which the direct path applies itself
            self._direct = self._family.direct(self._rules, minimap, self._features._world_to_minimap_px)
        self.observations = observations
        self._rng = np.random.default_rng(random_seed)
        self._world = None
        """The map's world (:class:`World` or :class:`~envs.sim.army.CombatWorld`); None between episodes."""
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
        self._world = self._rules.new_world(self._next_tag)
        self._rules.reset(self._world, self._rng)
        self._game_loop = self._score = 0
        return self._timestep(StepType.FIRST, 0.0, 0.0)

    def step(self, actions, step_mul=None):
        if self._world is None:
            return self.reset()
        if len(actions) != 1:
            raise ValueError(f"expected 1 action (single-agent minigame), got {len(actions)}")
        # raw actions read no observation proto, only the last raw units' tags (_raw_tags, set by either path)
        proto = self._proto.observation if self._direct is None else None
        self._apply(self._features.transform_action(proto, actions[0]))
        loops = min(step_mul or self._step_mul, self._episode_loops - self._game_loop)
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
        if not action.HasField("action_raw") or not action.action_raw.HasField("unit_command"):
            return  # no_op (or an action the minigames do not use)
        cmd = action.action_raw.unit_command
        point = (cmd.target_world_space_pos.x, cmd.target_world_space_pos.y) if cmd.HasField("target_world_space_pos") else None
        target = cmd.target_unit_tag if cmd.HasField("target_unit_tag") else 0
        self._family.command(self._world, cmd.unit_tags, cmd.ability_id, point, target, cmd.queue_command)

    def _timestep(self, step_type, reward: float, discount: float):
        self._state = (self._world, self._game_loop, self._score, *self._view(self._world))
        if self._direct is None:
            self._proto = self._builder.build(*self._state)
            obs = self._features.transform_obs(self._proto)
        else:
            self._proto = None
            obs = self._direct.build(*self._state)
            raw = obs["raw_units"]  # transform_obs sets _raw_tags (raw unit index -> tag) for transform_action
            self._features._raw_tags = raw[:, _TAG] if len(raw) else np.array([])
        return (TimeStep(step_type=step_type, reward=reward, discount=discount, observation=obs),)

    def save_replay(self, *args, **kwargs):
        """The simulator records no replays."""

    def close(self):
        if hasattr(self, "_world"):  # pysc2's Base.__del__ calls close() also when __init__ raised
            self._end_world()
