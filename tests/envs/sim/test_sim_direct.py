"""The simulator's direct observation path (``envs/sim/pickups/direct.py``) against the protocol path (protos ->
pysc2's ``features.transform_obs``), the reference: field by field and exactly, on random simulator states, on
random legal play (unit-targeted and queued orders included), and over whole seeded episodes."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs.pysc2_compat import RAW_FUNCTIONS, FeatureUnit, StepType
from envs.sc2.env import SC2MinigameEnv
from envs.sc2.scripted import SCRIPTED_AGENTS
from envs.sim.catalog import RULES, SIM_MAPS
from envs.sim.env import SimSC2Env
from envs.sim.pickups.direct import PickupsDirectBuilder
from envs.sim.pickups.world import World
from support.sim import (
    EXECUTABLE,
    assert_contract_equal,
    assert_fields_equal,
    coordinate,
    random_action,
    seeded_episodes_on_both_paths,
)

MAPS = [m for m in SIM_MAPS if RULES[m].kind == "pickups"]
"""The pickups maps (the combat maps: test_sim_combat_direct.py)."""
ABILITIES = [RAW_FUNCTIONS[name].ability_id for name in EXECUTABLE[1:]] + [3665, 1, 12345]
"""Ability ids for random order queues (12345: no pysc2 function, reported as 0)."""


def _random_world(sim: SimSC2Env, rng: np.random.Generator, next_tag: int) -> World:
    """A random state of ``sim``'s map: marines anywhere on the map or just off it (some dead), random facing and
    order queues (points and pickup tags, up to 5 long), pickups redrawn and a random subset of them alive."""
    rules, config = sim._rules, sim._config
    world = World.empty(config, rules.num_marines, next_tag=next_tag)
    rules.reset(world, rng)
    size = config.map_size
    for i in range(rules.num_marines):
        low, high = (-2.0, size + 2.0) if rng.random() < 0.1 else (0.0, size)  # off the map: the minimap clips
        world.marines.pos[i] = coordinate(rng, low, high), coordinate(rng, low, high)
    world.marines.alive[:] = rng.random(rules.num_marines) < 0.9
    world.facing[:] = rng.uniform(0, 2 * np.pi, rules.num_marines)
    if rng.random() < 0.1:
        world.facing[0] = np.nextafter(2 * np.pi, 0)  # rounds up to 2 pi in float32
    for i in range(rules.num_pickups):
        if rng.random() < 0.3:
            world.pickups.pos[i] = coordinate(rng, 0.0, size), coordinate(rng, 0.0, size)
    world.pickups.alive[:] = rng.random(rules.num_pickups) < rng.uniform(0.2, 1.0)
    tags = world.pickups.tags.tolist()
    for queue in world.orders:
        for _ in range(int(rng.integers(6))):
            ability = int(rng.choice(ABILITIES))
            target = int(rng.choice(tags)) if rng.random() < 0.4 else rng.uniform(0, size, 2)
            queue.append((ability, target))
    return world


@pytest.mark.parametrize(
    ("map_name", "spatial_size", "states"),
    [(m, 64, 1000) for m in MAPS] + [(m, s, 150) for m in MAPS for s in (48, 32)],
)
def test_direct_fields_equal_the_protocol_path_on_random_states(map_name, spatial_size, states):
    env = SC2MinigameEnv(map_name, backend="sim", spatial_size=spatial_size, sim_observations="direct")
    sim = env._env
    builder, direct = sim._builder, sim._direct
    rng = np.random.default_rng(spatial_size)
    next_tag = 1
    for state in range(states):
        world = _random_world(sim, rng, next_tag)
        next_tag = world.next_tag
        game_loop, score = int(rng.integers(0, 1921)), int(rng.integers(0, 400))
        if state % 3:  # fresh caches, or (every third state) the caches of the previous state
            builder.reset(), direct.reset()
        protocol = sim._features.transform_obs(builder.build(world, game_loop, score))
        assert_fields_equal(protocol, direct.build(world, game_loop, score), f"{map_name} state {state}")


@pytest.mark.parametrize("map_name", MAPS)
def test_both_paths_give_identical_timesteps_and_contract_under_random_legal_play(map_name):
    """Lockstep: the same actions into a protocol and a direct simulator; every timestep (pysc2 fields, reward,
    step type, discount), every contract observation and every FunctionCall the converters make are equal."""
    protocol = SC2MinigameEnv(map_name, backend="sim", sim_observations="protocol", action_functions=EXECUTABLE)
    direct = SC2MinigameEnv(map_name, backend="sim", sim_observations="direct", action_functions=EXECUTABLE)
    assert (protocol._env.observations, direct._env.observations) == ("protocol", "direct")
    agent = SCRIPTED_AGENTS[map_name](direct.act_spec)
    rng = np.random.default_rng(11)
    steps = orders = unit_orders = 0
    for seed in range(5):
        protocol._env.reseed(seed), direct._env.reseed(seed)
        agent.reset()
        ts_p, ts_d = protocol._env.reset()[0], direct._env.reset()[0]
        while True:
            assert (ts_d.step_type, ts_d.reward, ts_d.discount) == (ts_p.step_type, ts_p.reward, ts_p.discount)
            assert_fields_equal(ts_p.observation, ts_d.observation, f"seed {seed} step {steps}")
            (obs_p, info_p), (obs_d, info_d) = protocol.converter.observation(ts_p), direct.converter.observation(ts_d)
            assert_contract_equal(obs_p, obs_d, info_p, info_d)
            if ts_d.step_type == StepType.LAST:
                break
            action = random_action(direct, obs_d, rng, agent)
            (call_p, why_p), (call_d, why_d) = protocol.converter.action(action), direct.converter.action(action)
            assert (call_p, why_p) == (call_d, why_d)
            ts_p, ts_d = protocol._env.step([call_p])[0], direct._env.step([call_d])[0]
            raw = np.asarray(ts_d.observation["raw_units"])
            orders += int((raw[:, FeatureUnit.order_length] > 1).any())
            unit_orders += int(any(type(t) is int for q in direct._env._state[0].orders for _, t in q))
            steps += 1
    assert steps >= 1000 and orders > 50 and unit_orders > 50  # queued orders and unit targets were exercised


@pytest.mark.parametrize("map_name", MAPS)
def test_whole_seeded_episodes_and_scripted_scores_are_identical_on_both_paths(map_name):
    assert min(seeded_episodes_on_both_paths(map_name, range(3), (3, 4))) > 0


def test_the_direct_path_keeps_the_protocol_response_on_demand_and_leaves_no_reference_cycle():
    env = SC2MinigameEnv("CollectMineralShards", backend="sim")
    sim = env._env
    assert sim.observations == "direct" and sim._proto is None
    ts = sim.reset()[0]
    for _ in range(240):  # to the LAST timestep (the world is gone then, its last state is kept)
        assert_fields_equal(sim._features.transform_obs(sim._response), ts.observation)
        ts = sim.step([RAW_FUNCTIONS.Move_pt("now", [0], [30, 30])])[0]
    assert ts.step_type == StepType.LAST and sim._world is None
    assert_fields_equal(sim._features.transform_obs(sim._response), ts.observation)
    # pysc2's NamedDict refers to itself (self.__dict__ = self); the direct observation must not, or every
    # observation waits for the cyclic garbage collector (measured: ~100 us per step of allocator churn)
    assert ts.observation.raw_units is ts.observation["raw_units"]
    gc.disable()
    try:
        ref = weakref.ref(ts.observation)
        del ts
        assert ref() is None
    finally:
        gc.enable()


def test_the_observation_path_option():
    assert SimSC2Env.__init__.__kwdefaults__["observations"] == "protocol"  # the pysc2-level drop-in: every field
    assert SC2MinigameEnv("MoveToBeacon", backend="sim")._env.observations == "direct"
    assert SC2MinigameEnv("MoveToBeacon", backend="sim", sim_observations="protocol")._env.observations == "protocol"
    with pytest.raises(ValueError, match="sim_observations.*'fast'.*direct, protocol"):
        SC2MinigameEnv("MoveToBeacon", backend="sim", sim_observations="fast")
    for backend in ("test", "game"):  # the game's and SC2TestEnv's observations are pysc2's own
        with pytest.raises(
            ValueError, match=f"sim_observations='direct': backend '{backend}' speaks pysc2's protocol only"
        ):
            SC2MinigameEnv("MoveToBeacon", backend=backend, sim_observations="direct")
    assert SC2MinigameEnv("MoveToBeacon", backend="test", sim_observations="protocol").backend_name == "test"


def test_direct_builder_rejects_a_transform_it_does_not_know():
    env = SC2MinigameEnv("MoveToBeacon", backend="sim")
    sim = env._env

    class Chain:
        transforms = [object()]

    with pytest.raises(ValueError, match="unexpected pysc2 world -> raw transform"):
        PickupsDirectBuilder(sim._rules, (64, 64), Chain())


def _moves(env, obs, row: int) -> bool:
    """Whether a Move_pt of the unit in ``obs``'s entity slot ``row`` reaches that unit (it has an order after it)."""
    names = [t.name for t in env.act_spec.action_types]
    spec = env.act_spec
    selected = np.full(spec.max_selected, spec.max_entities, np.int64)
    selected[0] = row
    location = int(np.flatnonzero(obs["location_mask"].reshape(-1))[0])
    action = {"action_type": names.index("Move_pt"), "queued": 0, "selected_units": selected, "target_unit": 0,
              "location": location}  # fmt: skip
    env.step(action)
    units = env._env._features.transform_obs(env._env._response)["raw_units"]
    return bool(units[units[:, FeatureUnit.alliance] == 1][0, FeatureUnit.order_length])


@pytest.mark.parametrize("path", ["direct", "protocol"])
def test_actions_name_the_units_of_the_last_observation(path):
    """pysc2's actions name units by their row in the last raw units; the direct path, which calls no
    ``transform_obs``, maps the rows to tags itself: a ``transform_obs`` call on an old proto (the previous episode's,
    other tags) changes nothing. Tags continue across episodes, so a row mapped with the old tags would miss."""
    env = SC2MinigameEnv("MoveToBeacon", backend="sim", sim_observations=path)
    sim = env._env
    env.reset(seed=0)
    stale = sim._response
    obs, _ = env.reset(seed=1)
    if path == "direct":
        sim._features.transform_obs(stale)  # the observation side's pysc2 Features now knows the old tags
    assert _moves(env, obs, int(np.flatnonzero(obs["selectable_mask"])[0]))
