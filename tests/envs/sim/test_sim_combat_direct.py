"""The combat maps' direct observation path (``envs/sim/combat/direct.py``) against their protocol path (protos ->
pysc2's ``features.transform_obs``), the reference: field by field and exactly, on random combat states (fog included),
under random legal play in lockstep, and over whole seeded episodes with the scripted agents."""

from __future__ import annotations

import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs.pysc2_compat import RAW_FUNCTIONS, FeatureUnit, StepType
from envs.sc2.env import SC2MinigameEnv
from envs.sc2.scripted import SCRIPTED_AGENTS
from envs.sim.combat.units import UNIT_STATS
from envs.sim.combat.world import ATTACK, FOLLOW, HOLD, MOVE, TARGET, CombatWorld, Order
from support.sim import (
    EXECUTABLE,
    assert_contract_equal,
    assert_fields_equal,
    coordinate,
    random_action,
    seeded_episodes_on_both_paths,
)

COMBAT_MAPS = ["DefeatRoaches", "DefeatZerglingsAndBanelings", "FindAndDefeatZerglings"]
ABILITIES = [RAW_FUNCTIONS[name].ability_id for name in EXECUTABLE[1:]] + [3665, 12345]
"""Ability ids for random order queues (12345: no pysc2 function, reported as 0)."""
ENEMY_TYPES = [t for t in UNIT_STATS if t != 48]


def _random_world(rules, rng: np.random.Generator, next_tag: int) -> CombatWorld:
    """A random state of a combat map: marines and Zerg units anywhere on the map or just off it (some dead), health
    with fractions (and just below whole numbers, float32's rounding edge), weapon cooldowns, facing near 2 pi, order
    queues of points and unit tags."""
    world = rules.new_world(next_tag)
    size = rules.map_config.map_size
    for owner, types, count in ((1, [48], rng.integers(1, 12)), (2, ENEMY_TYPES, rng.integers(0, 16))):
        for _ in range(int(count)):
            world.spawn(int(rng.choice(types)), owner, np.zeros((1, 2)))
    n = len(world)
    for i in range(n):
        low, high = (-2.0, size + 2.0) if rng.random() < 0.1 else (0.0, size)
        world.pos[i] = coordinate(rng, low, high), coordinate(rng, low, high)
    health_max = world.constants["health_max"]
    world.health[:] = rng.uniform(0.01, 1.0, n) * health_max
    edge = rng.random(n) < 0.2
    world.health[edge] = np.minimum(
        np.floor(world.health[edge]) + 1 - rng.choice([1e-9, 1e-6], int(edge.sum())), health_max[edge]
    )
    full = rng.random(n) < 0.2
    world.health[full] = health_max[full]
    world.cooldown[:] = rng.uniform(-1.0, 30.0, n)
    world.facing[:] = rng.uniform(0, 2 * np.pi, n)
    world.facing[rng.random(n) < 0.1] = np.nextafter(2 * np.pi, 0)  # rounds up to 2 pi in float32
    world.alive[:] = rng.random(n) < 0.85
    tags = world.tags.tolist()
    for i in np.flatnonzero(world.owner == 1):
        for _ in range(int(rng.integers(6))):
            ability, kind = int(rng.choice(ABILITIES)), int(rng.choice([MOVE, ATTACK, TARGET, HOLD, FOLLOW]))
            if rng.random() < 0.4:
                world.orders[i].append(Order(ability, kind, target=int(rng.choice(tags))))
            else:
                world.orders[i].append(Order(ability, kind, point=tuple(rng.uniform(0, size, 2).tolist())))
    return world


@pytest.mark.parametrize(
    ("map_name", "spatial_size", "states"), [(m, 64, 300) for m in COMBAT_MAPS] + [(m, 32, 60) for m in COMBAT_MAPS]
)
def test_direct_fields_equal_the_protocol_path_on_random_combat_states(map_name, spatial_size, states):
    env = SC2MinigameEnv(map_name, backend="sim", spatial_size=spatial_size, sim_observations="direct")
    sim = env._env
    rng = np.random.default_rng(spatial_size)
    next_tag, hidden = 1, 0
    for state in range(states):
        world = _random_world(sim._rules, rng, next_tag)
        next_tag = world.next_tag
        if state % 10 == 0:
            sim._view.reset()  # a new episode's fog: nothing explored
        (view,) = sim._view(world)
        hidden += int((world.alive & ~view.seen).sum())
        game_loop, score = int(rng.integers(0, 2881)), int(rng.integers(-40, 400))
        protocol = sim._features.transform_obs(sim._builder.build(world, game_loop, score, view))
        assert_fields_equal(protocol, sim._direct.build(world, game_loop, score, view), f"{map_name} state {state}")
    assert (hidden > 0) == sim._rules.fog  # the fog hid units on the fog map only


@pytest.mark.parametrize("map_name", COMBAT_MAPS)
def test_both_paths_give_identical_timesteps_and_contract_under_random_legal_play(map_name):
    """Lockstep: the same actions into a protocol and a direct simulator; every timestep, contract observation and
    FunctionCall is equal."""
    protocol = SC2MinigameEnv(map_name, backend="sim", sim_observations="protocol", action_functions=EXECUTABLE)
    direct = SC2MinigameEnv(map_name, backend="sim", sim_observations="direct", action_functions=EXECUTABLE)
    agent = SCRIPTED_AGENTS[map_name](SC2MinigameEnv(map_name, backend="sim").act_spec)
    names = [t.name for t in direct.act_spec.action_types]
    rng = np.random.default_rng(11)
    steps = kills = orders = 0
    for seed in range(20):
        if steps >= 300:
            break
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
            action = random_action(direct, obs_d, rng, _Translated(agent, names))
            (call_p, why_p), (call_d, why_d) = protocol.converter.action(action), direct.converter.action(action)
            assert (call_p, why_p) == (call_d, why_d)
            ts_p, ts_d = protocol._env.step([call_p])[0], direct._env.step([call_d])[0]
            raw = np.asarray(ts_d.observation["raw_units"]).reshape(-1, len(FeatureUnit))
            orders += int((raw[:, FeatureUnit.order_length] > 1).any())
            kills += int(ts_d.reward > 0)
            steps += 1
    assert steps >= 300 and kills > 5 and orders > 5  # queued orders were exercised


class _Translated:
    """The scripted agent (which acts in the minigame's action set) acting in the EXECUTABLE set."""

    def __init__(self, agent, names: list[str]):
        self.agent, self.names = agent, names

    def act(self, obs):
        mask = obs["action_type_mask"]
        own = [self.names.index(f) for f in ("no_op", "Move_pt", "Attack_pt", "Attack_unit")]
        action = self.agent.act({**obs, "action_type_mask": mask[own]})
        return {**action, "action_type": own[int(action["action_type"])]}


@pytest.mark.parametrize("map_name", COMBAT_MAPS)
def test_whole_seeded_combat_episodes_and_scripted_scores_are_identical_on_both_paths(map_name):
    assert max(seeded_episodes_on_both_paths(map_name, range(2), (2, 3))) > 0
