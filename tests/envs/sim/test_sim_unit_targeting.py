"""Unit-targeted actions (``Move_unit``, ``Smart_unit``, ``Attack_unit``) on the simulator, and the
``action_functions`` kwarg of ``SC2MinigameEnv``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.pysc2_compat import RAW_FUNCTIONS, FeatureUnit
from envs.sc2.convert import ENTITY_FEATURES
from envs.sc2.env import SC2MinigameEnv
from envs.sc2.scripted import SCRIPTED_AGENTS, run_episode
from envs.sim.catalog import RULES
from envs.sim.geometry import MapConfig
from envs.sim.pickups.world import World

SPEED = MapConfig().marine_speed
_ORDER_LENGTH = ENTITY_FEATURES.index("order_length")


def _action(env, name: str, marine: int, target: int = 0, location: int = 0, queued: int = 0) -> dict:
    names = [t.name for t in env.act_spec.action_types]
    sel = np.full(env.act_spec.max_selected, env.act_spec.max_entities, np.int64)
    sel[0] = marine
    return {
        "action_type": names.index(name), "queued": queued, "selected_units": sel, "target_unit": target,
        "location": location,
    }  # fmt: skip


def _marine_proto(env):
    return next(u for u in env._env._response.observation.raw_data.units if u.alliance == 1)


@pytest.mark.parametrize("function", ["Move_unit", "Smart_unit", "Attack_unit"])
def test_a_unit_targeted_move_on_the_beacon_scores_and_ends_when_the_beacon_respawns(function):
    env = SC2MinigameEnv("MoveToBeacon", backend="sim", action_functions=["no_op", "Move_pt", function])
    obs, _ = env.reset(seed=1)
    world, reach = env._env._world, RULES["MoveToBeacon"].reach
    marine, beacon = int(np.flatnonzero(obs["selectable_mask"])[0]), int(np.flatnonzero(obs["targetable_mask"])[0])
    tag, start = int(world.pickups.tags[0]), world.pickups.pos[0].copy()
    steps_needed = int(np.ceil((np.linalg.norm(start - world.marines.pos[0]) - reach) / (8 * SPEED)))

    obs, reward, *_, info = env.step(_action(env, function, marine, target=beacon))
    assert info["illegal_action"] == "" and reward == 0
    # the order names the beacon by tag (not a point), so pysc2's raw units count it
    order = _marine_proto(env).orders[0]
    assert order.target_unit_tag == tag and not order.HasField("target_world_space_pos")
    assert order.ability_id == RAW_FUNCTIONS[function].ability_id
    raw = env._env._features.transform_obs(env._env._response)["raw_units"]
    assert raw[raw[:, FeatureUnit.alliance] == 1][0, FeatureUnit.order_length] == 1

    noop = _action(env, "no_op", marine)
    for step in range(2, 20):  # noqa: B007 (read after the loop)
        obs, reward, *_ = env.step(noop)
        if reward:
            break
    assert reward == 1 and step == steps_needed  # straight there at the marine's speed
    # the beacon respawned under a new tag: the order ended the game loop the marine touched it
    assert int(world.pickups.tags[0]) != tag and world.orders[0] == []
    assert reach - SPEED < np.linalg.norm(world.marines.pos[0] - start) <= reach
    assert len(_marine_proto(env).orders) == 0 and obs["entities"][marine, _ORDER_LENGTH] == 0
    stays = world.marines.pos[0].copy()
    env.step(noop)
    np.testing.assert_array_equal(world.marines.pos[0], stays)


def test_a_unit_order_on_a_pickup_that_is_gone_is_ignored():
    env = SC2MinigameEnv("MoveToBeacon", backend="sim")
    env.reset(seed=2)
    sim, world = env._env, env._env._world
    marine, old = int(world.marines.tags[0]), int(world.pickups.tags[0])
    world.pickups.tags[0] = world.new_tag()  # the beacon the agent saw is gone (respawned)
    sim.step([RAW_FUNCTIONS.Move_unit("now", [marine], old)])
    assert world.orders[0] == []
    sim.step([RAW_FUNCTIONS.Move_unit("now", [marine], marine)])  # a marine: not a target the simulator follows
    assert world.orders[0] == []


def _shards_world(marines, shards):
    """A CollectMineralShards world with the marines and the first shards where given, the others far away."""
    world = World.empty(MapConfig(), 2)
    RULES["CollectMineralShards"].reset(world, np.random.default_rng(0))
    world.marines.pos[:] = marines
    world.pickups.pos[:] = (43.0, 35.0) - np.arange(20)[:, None] * (0.0, 0.6)
    world.pickups.pos[: len(shards)] = shards
    return world


def test_a_unit_order_ends_the_game_loop_another_marine_takes_its_shard():
    rules = RULES["CollectMineralShards"]
    world = _shards_world([(30.0, 28.0), (33.0, 28.0)], [(34.0, 28.0)])
    shard = int(world.pickups.tags[0])
    world.command({int(world.marines.tags[0])}, 3794, None, shard, False)
    world.command({int(world.marines.tags[1])}, 3794, (34.0, 28.0), 0, False)
    assert rules.step(world, 8, np.random.default_rng(1)) == 1  # marine 1 takes it in the first game loop
    np.testing.assert_allclose(world.marines.pos[0], (30.0 + SPEED, 28.0))  # marine 0 stopped there too
    assert world.orders[0] == []


def test_queued_unit_orders_visit_the_shards_in_turn():
    rules = RULES["CollectMineralShards"]
    world = _shards_world([(30.0, 28.0), (24.0, 22.0)], [(32.5, 28.0), (32.5, 31.0)])
    first, second = (int(t) for t in world.pickups.tags[:2])
    marine = {int(world.marines.tags[0])}
    world.command(marine, 3794, None, first, False)
    world.command(marine, 1, None, second, True)
    reward = sum(rules.step(world, 8, np.random.default_rng(1)) for _ in range(6))
    assert reward == 2 and world.orders[0] == []


def _loop_by_loop(rules, world, loops, rng) -> int:
    """Reference: one game loop at a time, dropping orders whose target was taken after each loop."""
    reward = 0
    for _ in range(loops):
        reward += rules.collect(world, world.advance(1), rng)
        world.drop_orders_without_target()
    return reward


def test_a_step_with_unit_orders_equals_loop_by_loop_play():
    rules = RULES["CollectMineralShards"]
    worlds = [World.empty(MapConfig(), 2) for _ in range(2)]
    rngs = [np.random.default_rng(5) for _ in range(2)]
    for w, r in zip(worlds, rngs):
        rules.reset(w, r)
    choice = np.random.default_rng(6)
    totals = [0, 0]
    for _ in range(150):
        alive = np.flatnonzero(worlds[0].pickups.alive)
        i, unit, queued = int(choice.integers(2)), bool(choice.integers(3)), bool(choice.integers(4) == 0)
        tag = int(worlds[0].pickups.tags[choice.choice(alive)])
        point = choice.uniform((22, 20), (44, 36))
        for k, (w, r) in enumerate(zip(worlds, rngs)):
            marine = {int(w.marines.tags[i])}
            w.command(marine, 3794, None if unit else point, tag if unit else 0, queued)
            totals[k] += rules.step(w, 8, r) if k == 0 else _loop_by_loop(rules, w, 8, r)
        np.testing.assert_allclose(worlds[0].marines.pos, worlds[1].marines.pos, atol=1e-9)
        np.testing.assert_array_equal(worlds[0].pickups.tags, worlds[1].pickups.tags)
    assert totals[0] == totals[1] > 10


def test_default_movement_sets_have_unit_targeting_and_the_scripted_agents_still_play():
    for map_name in ("MoveToBeacon", "CollectMineralShards"):
        env = SC2MinigameEnv(map_name, backend="sim")
        assert [t.name for t in env.act_spec.action_types] == ["no_op", "Move_pt", "Move_unit", "Smart_unit"]
        assert env.act_spec.action_types[2].target_unit and not env.act_spec.action_types[2].location
    env = SC2MinigameEnv("MoveToBeacon", backend="sim", action_functions=["no_op", "Move_pt"])
    assert run_episode(env, SCRIPTED_AGENTS["MoveToBeacon"](env.act_spec), seed=0) >= 20


class _Recorder:
    """A scripted agent that also keeps the actions it took."""

    def __init__(self, agent):
        self.agent, self.actions = agent, []

    def reset(self) -> None:
        self.agent.reset()

    def act(self, obs) -> dict:
        self.actions.append(self.agent.act(obs))
        return self.actions[-1]


@pytest.mark.parametrize("map_name,points,units", [("MoveToBeacon", 20, 20), ("CollectMineralShards", 120, 120)])
def test_unit_targeting_scripted_agents_move_by_pointer_and_score_like_the_point_ones(map_name, points, units):
    """``unit_targeting=True`` (the demonstrations of a unit-targeting config) sends the marines with ``Move_unit`` on
    the pickup, and plays as well as ``Move_pt`` to its cell (CollectMineralShards once lost whole episodes: a
    marine idled beside a shard that rounded to its taken target's cell)."""
    env = SC2MinigameEnv(map_name, backend="sim")
    names = [t.name for t in env.act_spec.action_types]
    scores = {}
    for unit_targeting in (False, True):
        agent = _Recorder(SCRIPTED_AGENTS[map_name](env.act_spec, unit_targeting=unit_targeting))
        scores[unit_targeting] = np.mean([run_episode(env, agent, seed=s) for s in (0, 1)])
        used = {names[a["action_type"]] for a in agent.actions}
        assert used == {"no_op", "Move_unit" if unit_targeting else "Move_pt"}
    assert scores[False] >= points and scores[True] >= units, scores
    with pytest.raises(ValueError, match="needs the action type Move_unit"):
        SCRIPTED_AGENTS[map_name](
            SC2MinigameEnv(map_name, backend="sim", action_functions=["no_op", "Move_pt"]).act_spec, unit_targeting=True
        )


def test_action_functions_restrict_the_action_space():
    envs.register_all(rllib=False)
    env = gym.make("perceiver_rl/Sim-MoveToBeacon-v0", action_functions=["no_op", "Move_pt"])
    spec = envs.contract_of(env)["act_spec"]
    assert [t.name for t in spec.action_types] == ["no_op", "Move_pt"]
    assert env.action_space["action_type"].n == 2
    obs, _ = env.reset(seed=0)
    assert obs["action_type_mask"].tolist() == [1, 1]
    env.close()
    unit_only = SC2MinigameEnv("CollectMineralShards", backend="sim", action_functions=("Move_unit", "no_op"))
    assert unit_only.action_space["action_type"].n == 2 and unit_only.act_spec.action_types[1].name == "no_op"


@pytest.mark.parametrize(
    "functions, bad",
    [
        (["no_op", "Move_point"], "'Move_point'"),
        (["Move_pt"], "'no_op'"),
        (["no_op", "Move_pt", "Move_pt"], "Move_pt"),
        ("no_op", "'no_op'"),
        (["no_op", "Build_Factory_pt"], "'Build_Factory_pt'"),  # a pysc2 name the simulator cannot execute
        (["no_op", "Move_Move_unit"], "'Move_Move_unit'"),
    ],
)
def test_bad_action_functions_raise_naming_the_key_and_the_name(functions, bad):
    with pytest.raises(ValueError, match="action_functions") as err:
        SC2MinigameEnv("MoveToBeacon", backend="sim", action_functions=functions)
    assert bad in str(err.value)


def test_the_game_backends_accept_any_raw_function():
    env = SC2MinigameEnv("DefeatRoaches", backend="test", action_functions=["no_op", "Build_SupplyDepot_pt"])
    assert [t.name for t in env.act_spec.action_types] == ["no_op", "Build_SupplyDepot_pt"]
