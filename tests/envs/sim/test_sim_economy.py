"""The economy minigames on the simulator (``envs/sim/economy/``): the start state from the maps, mining rates and
saturation, supply, placement, requirements and costs (commands the game rejects are ignored), the score, both
observation paths equal field by field, determinism, and the scripted macro agent against random play."""

from __future__ import annotations

import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)
from envs.pysc2_compat import FeatureUnit
from envs.sc2.env import SC2MinigameEnv
from envs.sc2.scripted import SCRIPTED_AGENTS, run_episode
from envs.sim.catalog import RULES
from envs.sim.economy import units as u
from envs.sim.economy.rules import GEYSERS, LEFT_FIELDS, RIGHT_FIELDS, SCV_OFFSETS, START
from envs.sim.economy.world import NEUTRAL, PLAYER, EconomyWorld
from support.sim import assert_contract_equal, assert_fields_equal, seeded_episodes_on_both_paths

MAPS = ["CollectMineralsAndGas", "BuildMarines"]


def _world(name: str, seed: int = 0) -> EconomyWorld:
    rules = RULES[name]
    world = rules.new_world(1)
    rules.reset(world, np.random.default_rng(seed))
    return world


def _cc(world: EconomyWorld):
    return world.of_kind(u.COMMAND_CENTER)[0]


@pytest.mark.parametrize("name", MAPS)
def test_start_state_is_the_maps(name):
    world = _world(name, seed=3)
    fields = world.of_kind(u.MINERAL_FIELD)
    expected = LEFT_FIELDS + RIGHT_FIELDS if name == "CollectMineralsAndGas" else LEFT_FIELDS
    assert [(f.x, f.y) for f in fields] == [tuple(map(float, p)) for p in expected]
    assert all(f.contents == 1800 and f.owner == NEUTRAL for f in fields)
    geysers = world.of_kind(u.VESPENE_GEYSER)
    assert [(g.x, g.y) for g in geysers] == (list(GEYSERS) if name == "CollectMineralsAndGas" else [])
    assert all(g.contents == 2250 for g in geysers)
    assert (_cc(world).x, _cc(world).y) == (29.5, 28.5) and _cc(world).owner == PLAYER
    scvs = world.of_kind(u.SCV)
    side = np.sign(scvs[0].x - START[0])
    assert [(s.x, s.y) for s in scvs] == [(START[0] + dx * side, START[1] + dy) for dx, dy in SCV_OFFSETS]
    assert world.minerals == 50 and world.food() == (12, 15)
    if name == "BuildMarines":  # SCVHarvest on the field 479769973 and the CommandCenter's rally to it
        rally = world.units[world.rally]
        assert (rally.x, rally.y) == (23.0, 26.5)
        assert all(s.orders[0].ability_id == u.HARVEST_GATHER_SCV and s.orders[0].target == rally.tag for s in scvs)
    else:
        assert world.idle_workers() == 12 and world.rally == 0
    sides = {np.sign(_world(name, seed).of_kind(u.SCV)[0].x - START[0]) for seed in range(12)}
    assert sides == {-1.0, 1.0}  # RandomInt(1, 2)


def _one_field(scvs: int) -> tuple[EconomyWorld, object]:
    """A CommandCenter, one mineral field 4 from its edge, ``scvs`` SCVs told to harvest it."""
    world = EconomyWorld(RULES["CollectMineralsAndGas"].map_config)
    cc = world.add(u.COMMAND_CENTER, PLAYER, 29.5, 28.5)
    field = world.add(u.MINERAL_FIELD, NEUTRAL, 23.0, 28.5, contents=u.MINERAL_CONTENTS)
    tags = {world.add(u.SCV, PLAYER, 26.0, 28.5 + 0.1 * i).tag for i in range(scvs)}
    world.command(tags, u.HARVEST_GATHER, None, field.tag, False)
    return world, cc


def test_mining_rates_of_one_and_three_scvs_on_one_field():
    loops = 16 * 120
    one, cc = _one_field(1)
    one.advance(loops)
    leg = (29.5 - 23.0) - cc.kind.radius - u.MINERAL_FIELD.radius - 2 * u.SCV.radius
    trip = u.MINERAL_LOOPS + u.MINERAL_PAUSE_LOOPS + 2 * leg / u.SCV_SPEED
    assert abs(one.collected_minerals - 5 * int((loops - leg / u.SCV_SPEED) / trip)) <= 5
    three, _ = _one_field(3)
    three.advance(loops)
    saturated = 5 * loops / u.MINERAL_LOOPS  # the field is mined without a break: one trip per 2.786 game s
    assert saturated - 15 <= three.collected_minerals <= saturated
    assert three.collected_minerals < 3 * one.collected_minerals  # the third SCV waits its turn
    assert one.minerals == one.collected_minerals and one.food() == (1, 15)


def test_supply_cap_blocks_training_and_a_depot_lifts_it():
    world = _world("CollectMineralsAndGas")
    world.minerals = 1000
    cc = _cc(world)
    for _ in range(5):
        world.command({cc.tag}, u.TRAIN_SCV, None, 0, False)
    assert len(cc.queue) == 3 and world.food() == (15, 15) and world.minerals == 850  # 12 SCVs + 3 queued
    world.advance(3 * 272)
    assert len(world.of_kind(u.SCV)) == 15 and not cc.queue
    scv = world.of_kind(u.SCV)[0]
    world.command({scv.tag}, u.BUILD_SUPPLY_DEPOT, (34.0, 24.0), 0, False)
    world.advance(16 * 40)
    assert world.food() == (15, 23) and world.minerals == 750
    world.command({cc.tag}, u.TRAIN_SCV, None, 0, False)
    assert len(cc.queue) == 1


def test_placement_refuses_occupied_and_outside_spots():
    world = _world("CollectMineralsAndGas")
    world.minerals = 1000
    scv = world.of_kind(u.SCV)[0]
    for point in ((23.0, 28.5), (29.5, 28.5), (26.5, 34.5), (19.0, 28.0), (44.0, 37.0)):  # field, CC, geyser, outside
        world.command({scv.tag}, u.BUILD_SUPPLY_DEPOT, point, 0, False)
        assert not scv.orders, point
    world.command({scv.tag}, u.BUILD_SUPPLY_DEPOT, (34.2, 23.7), 0, False)
    assert scv.orders[0].point == (34.0, 24.0)  # snapped to the 2 x 2 grid
    world.advance(16 * 6)  # the walk to the site (<= 11 from the start)
    depots = world.of_kind(u.SUPPLY_DEPOT)
    assert len(depots) == 1 and not depots[0].done and world.minerals == 900
    other = world.of_kind(u.SCV)[1]
    world.command({other.tag}, u.BUILD_SUPPLY_DEPOT, (35.0, 24.0), 0, False)  # overlaps the first
    assert not other.orders


def test_unaffordable_and_unavailable_commands_are_ignored():
    world = _world("BuildMarines")
    scv, cc = world.of_kind(u.SCV)[0], _cc(world)
    before = list(scv.orders)
    world.command({scv.tag}, u.BUILD_SUPPLY_DEPOT, (34.0, 24.0), 0, False)  # 50 minerals: not enough
    world.minerals = 1000
    world.command({scv.tag}, u.BUILD_BARRACKS, (34.5, 24.5), 0, False)  # no SupplyDepot yet
    world.command({scv.tag}, u.BUILD_REFINERY, None, world.of_kind(u.MINERAL_FIELD)[0].tag, False)  # not a geyser
    world.command({cc.tag}, u.TRAIN_MARINE, None, 0, False)  # a CommandCenter trains no marine
    world.command({scv.tag}, u.HARVEST_GATHER, None, cc.tag, False)  # not a resource
    assert scv.orders == before and not cc.queue and world.minerals == 1000


def test_gas_needs_a_refinery_and_its_builder_harvests_it():
    world = _world("CollectMineralsAndGas")
    world.minerals = 500
    geyser = world.of_kind(u.VESPENE_GEYSER)[3]
    a, b = world.of_kind(u.SCV)[:2]
    world.command({b.tag}, u.HARVEST_GATHER, None, geyser.tag, False)
    assert not b.orders  # no refinery on it yet
    world.command({a.tag}, u.BUILD_REFINERY, None, geyser.tag, False)
    world.advance(16 * 35)
    refinery = world.of_kind(u.REFINERY)[0]
    assert refinery.done and a.orders[0].target == refinery.tag and world.minerals == 425
    world.command({b.tag}, u.HARVEST_GATHER, None, geyser.tag, False)  # on the geyser: its refinery
    assert b.orders[0].target == refinery.tag
    world.advance(16 * 30)
    assert world.collected_vespene > 0 and world.collected_vespene % 4 == 0
    carried = sum(s.cargo for s in (a, b) if s.cargo_gas)
    assert geyser.contents + world.collected_vespene + carried == u.GEYSER_CONTENTS


def test_the_score_counts_collected_resources_and_marines():
    rules = RULES["BuildMarines"]
    world = _world("BuildMarines")
    world.minerals = 1000
    barracks = world.add(u.BARRACKS, PLAYER, 36.5, 30.5)
    world.command({barracks.tag}, u.TRAIN_MARINE, None, 0, False)
    world.command({barracks.tag}, u.TRAIN_MARINE, None, 0, False)
    assert rules.step(world, 400, None) == 1 and rules.step(world, 400, None) == 1 and world.marines_built == 2
    collect = RULES["CollectMineralsAndGas"]
    world = _world("CollectMineralsAndGas")
    world.command({s.tag for s in world.of_kind(u.SCV)}, u.HARVEST_GATHER, None, world.of_kind(u.MINERAL_FIELD)[0].tag,
                  False)  # fmt: skip
    reward = sum(collect.step(world, 8, None) for _ in range(100))
    assert reward == world.collected_minerals + world.collected_vespene > 0


@pytest.mark.parametrize("name", MAPS)
def test_both_paths_equal_field_by_field_under_scripted_and_random_play(name):
    """Lockstep: the scripted agent's actions, every third step a random one, into a protocol and a direct simulator;
    every field and contract observation is equal (structures under construction, queues, trips included)."""
    protocol, direct = (SC2MinigameEnv(name, backend="sim", sim_observations=p, max_selected=8, max_entities=64)
                        for p in ("protocol", "direct"))  # fmt: skip
    agent = SCRIPTED_AGENTS[name](direct.act_spec)
    rng = np.random.default_rng(1)
    for env in (protocol, direct):
        env._env.reseed(4)
    agent.reset()
    ts_p, ts_d = protocol._env.reset()[0], direct._env.reset()[0]
    building = trains = 0
    for step in range(400):
        assert (ts_d.step_type, ts_d.reward) == (ts_p.step_type, ts_p.reward)
        assert_fields_equal(ts_p.observation, ts_d.observation, f"{name} step {step}")
        (obs_p, info_p), (obs_d, info_d) = protocol.converter.observation(ts_p), direct.converter.observation(ts_d)
        assert_contract_equal(obs_p, obs_d, info_p, info_d)
        raw = ts_d.observation["raw_units"]
        building += int((raw[:, FeatureUnit.build_progress] < 100).any())
        trains += int((raw[:, FeatureUnit.order_progress_0] > 0).any())
        action = agent.act(obs_d) if step % 3 else _random_action(direct, obs_d, rng)
        (call_p, why_p), (call_d, why_d) = protocol.converter.action(action), direct.converter.action(action)
        assert (call_p, why_p) == (call_d, why_d)
        ts_p, ts_d = protocol._env.step([call_p])[0], direct._env.step([call_d])[0]
    assert building > 10 and trains > 10


def test_whole_seeded_episodes_are_identical_on_both_paths():
    seeded_episodes_on_both_paths("CollectMineralsAndGas", range(1), ())


def _random_action(env, obs, rng) -> dict:
    """A uniformly random legal action: a function among the available ones, up to ``max_selected`` own units, any
    target, any legal location."""
    spec = env.act_spec
    sel = np.full(spec.max_selected, spec.max_entities, np.int64)
    own = rng.permutation(np.flatnonzero(obs["selectable_mask"]))[: int(rng.integers(1, spec.max_selected + 1))]
    sel[: len(own)] = own
    targets = np.flatnonzero(obs["targetable_mask"])
    return {
        "action_type": int(rng.choice(np.flatnonzero(obs["action_type_mask"]))), "queued": int(rng.integers(2)),
        "selected_units": sel, "target_unit": int(rng.choice(targets)) if len(targets) else 0,
        "location": int(rng.choice(np.flatnonzero(obs["location_mask"].reshape(-1)))),
    }  # fmt: skip


class _RandomAgent:
    def __init__(self, env, seed: int):
        self.env, self.rng = env, np.random.default_rng(seed)

    def reset(self):
        pass

    def act(self, obs):
        return _random_action(self.env, obs, self.rng)


@pytest.mark.parametrize(("name", "margin"), [("CollectMineralsAndGas", 3000), ("BuildMarines", 60)])
def test_scripted_macro_beats_random_play_and_episodes_are_deterministic(name, margin):
    env = SC2MinigameEnv(name, backend="sim", max_selected=8, max_entities=64)
    scripted = run_episode(env, SCRIPTED_AGENTS[name](env.act_spec), seed=7)
    random = run_episode(env, _RandomAgent(env, 0), seed=7)
    assert scripted >= random + margin, (scripted, random)
    if name == "CollectMineralsAndGas":  # (the shorter map) the same seed gives the same episode
        assert run_episode(env, SCRIPTED_AGENTS[name](env.act_spec), seed=7) == scripted
