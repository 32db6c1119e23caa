"""``SimSC2Env``: a pysc2 ``environment.Base`` that simulates MoveToBeacon and CollectMineralShards.

It is a drop-in for ``sc2_env.SC2Env`` (same keyword arguments, same ``TimeStep``s): actions are
pysc2 ``FunctionCall``s, turned into ``sc_pb.Action`` protos by pysc2's ``features.transform_action``.
Observations take one of two paths (``observations=``):

- ``"protocol"`` (the default here; the reference): ``sc_pb.ResponseObservation`` protos
  (:mod:`envs.sim.protocol`) turned into numpy by pysc2's ``features.transform_obs``, every field;
- ``"direct"`` (the default of the gymnasium env, ``SC2MinigameEnv(sim_observations=)``): the arrays
  ``transform_obs`` would produce for the fields the contract's converter reads, written straight from the
  simulator's state (:mod:`envs.sim.direct`), equal to the protocol path's field by field
  (``tests/test_sim_direct.py``). ``_response`` (the proto of the last observation) is then built on access.

Reward per step is the change of the curriculum score (``score_cumulative[0]``), as in SC2Env.
"""

from __future__ import annotations

import numpy as np

from envs.sc2.minigames import minigame
from envs.sc2.pysc2_compat import FeatureUnit, StepType, TimeStep, environment, features, sc2_env
from envs.sim.direct import DirectObservationBuilder
from envs.sim.protocol import ObservationBuilder, game_info
from envs.sim.rules import RULES
from envs.sim.world import MapConfig, World

ABILITY_EFFECTS: dict[int, str] = {
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
        map_config: MapConfig = MapConfig(),
        observations: str = "protocol",
    ):
        if observations not in OBSERVATION_PATHS:
            raise ValueError(f"observations: {observations!r} unknown; valid: {', '.join(OBSERVATION_PATHS)}")
        aif = agent_interface_format
        if observations == "direct" and not (aif.use_raw_units and aif.use_raw_actions):
            raise ValueError("observations='direct' needs raw units and raw actions (use_raw_units, use_raw_actions)")
        if map_name not in RULES:
            raise ValueError(f"map {map_name!r} has no simulator; simulated maps: {sorted(RULES)}")
        self._rules, self._config = RULES[map_name], map_config
        self._step_mul = step_mul or 8
        self._episode_loops = game_steps_per_episode or minigame(map_name).game_loops
        players = players or [sc2_env.Agent(sc2_env.Race.terran)]
        self._aif = agent_interface_format
        self._game_info = game_info(players, [agent_interface_format], map_config)
        self._features = features.features_from_game_info(
            game_info=self._game_info[0], agent_interface_format=agent_interface_format, map_name=map_name
        )
        minimap = agent_interface_format.feature_dimensions.minimap
        minimap = (int(minimap.x), int(minimap.y))
        self._builder = ObservationBuilder(self._rules, map_config, minimap)
        self._direct = None
        if observations == "direct":  # pysc2's world -> raw-units transform, which the direct path applies itself
            world_to_raw = self._features._world_to_minimap_px
            self._direct = DirectObservationBuilder(self._rules, map_config, minimap, world_to_raw)
        self.observations = observations
        self._rng = np.random.default_rng(random_seed)
        self._world: World | None = None
        self._next_tag = 1
        """Unit tags continue across episodes: a tag never names two units in one env's life."""
        self._state: tuple[World, int, int] | None = None
        """``(world, game_loop, score)`` of the last observation (the world is not changed until the next step)."""
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
        if self._direct is not None:
            self._direct.reset()
        self._world = World.empty(self._config, self._rules.num_marines, next_tag=self._next_tag)
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
        if self._game_loop >= self._episode_loops:
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
        effect = ABILITY_EFFECTS.get(cmd.ability_id)
        if effect is None:
            return
        point = (cmd.target_world_space_pos.x, cmd.target_world_space_pos.y) if cmd.HasField("target_world_space_pos") else None
        target = cmd.target_unit_tag if cmd.HasField("target_unit_tag") else 0
        if effect == "move" and point is None and not (target and self._world.is_pickup(target)):
            return  # no point and no pickup to go to: the command cannot be executed
        target = target if point is None else 0
        self._world.command(set(cmd.unit_tags), effect, point, cmd.queue_command, cmd.ability_id, target_tag=target)

    def _timestep(self, step_type, reward: float, discount: float):
        self._state = (self._world, self._game_loop, self._score)
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
