"""The combat minigames on the simulator: the maps' rules, the combat model, the protocol, the scripted baselines."""

from __future__ import annotations

import numpy as np
import pytest

from envs.pysc2_compat import RAW_FUNCTIONS, FeatureUnit, StepType
from envs.sc2.env import SC2MinigameEnv
from envs.sc2.scripted import run_episode
from envs.sc2.scripted_combat import AttackMoveAgent, FocusFireAgent
from envs.sim.abilities import ATTACK_ABILITY, HOLD_ABILITY, MOVE_ABILITY, SMART
from envs.sim.catalog import RULES
from envs.sim.combat import tick
from envs.sim.combat.rules import SIDE_REGIONS, FindAndDefeat
from envs.sim.combat.units import BANELING, LOOPS_PER_SECOND, MARINE, ROACH, ZERGLING
from envs.sim.combat.world import ATTACK, IDLE, TARGET, CombatWorld
from envs.sim.combat.world import MOVE as MOVE_KIND
from support.sim import assert_same_protocol_as_pysc2s_test_env

COMBAT_MAPS = ["DefeatRoaches", "DefeatZerglingsAndBanelings", "FindAndDefeatZerglings"]
PLAYABLE = (22.0, 20.0, 44.0, 36.0)


def _world(*units: tuple[int, int, tuple[float, float]]) -> CombatWorld:
    """A world of ``(unit_type, owner, (x, y))`` units on DefeatRoaches' playable area."""
    world = CombatWorld(64, PLAYABLE)
    for unit_type, owner, pos in units:
        world.spawn(unit_type, owner, np.array([pos], float))
    return world


def _run(world: CombatWorld, loops: int) -> list[np.ndarray]:
    return [tick.step(world) for _ in range(loops)]


def _inside(points: np.ndarray, rect) -> bool:
    x0, y0, x1, y1 = rect
    return bool(((points >= (x0, y0)) & (points <= (x1, y1))).all())


# ------------------------------------------------------------------------------------------- the maps' rules
def test_defeat_roaches_starts_as_the_map_script_places_the_units():
    rules, sides = RULES["DefeatRoaches"], set()
    for seed in range(12):
        world = rules.new_world(1)
        rules.reset(world, np.random.default_rng(seed))
        marines, roaches = world.pos[world.owner == 1], world.pos[world.owner == 2]
        assert (world.unit_type[world.owner == 1] == MARINE.unit_type).all() and len(marines) == 9
        assert (world.unit_type[world.owner == 2] == ROACH.unit_type).all() and len(roaches) == 4
        # a vertical column, offsets 0, +1, -1, ..., +4, -4 around a point of one side region
        np.testing.assert_allclose(marines[:, 0], marines[0, 0])
        np.testing.assert_allclose(marines[:, 1] - marines[0, 1], [0, 1, -1, 2, -2, 3, -3, 4, -4])
        np.testing.assert_allclose(roaches[:, 1] - roaches[0, 1], [0, 1, -1, -2])  # +0.5, +1.5, -0.5, -1.5
        left = _inside(marines[:1], SIDE_REGIONS[0].rect)
        assert left or _inside(marines[:1], SIDE_REGIONS[1].rect)
        assert _inside(roaches[:1] - (0, 0.5), SIDE_REGIONS[1 if left else 0].rect)
        sides.add(left)
    assert sides == {True, False}  # RandomInt(1, 2) picks the side


def test_find_and_defeat_zerglings_spawns_as_the_map_script_says():
    rules = RULES["FindAndDefeatZerglings"]
    world = rules.new_world(1)
    rules.reset(world, np.random.default_rng(3))
    marines, lings = world.pos[world.owner == 1], world.pos[world.owner == 2]
    centre = FindAndDefeat.CENTRE
    np.testing.assert_allclose(np.linalg.norm(marines - centre, axis=1), 1.0)
    assert len(lings) == 25 and (world.unit_type[world.owner == 2] == ZERGLING.unit_type).all()
    pair = np.linalg.norm(lings[:, None] - lings[None], axis=-1) + 100 * np.eye(25)
    assert pair.min() >= 5.0
    far = np.linalg.norm(lings - centre, axis=1)
    assert 8.0 <= far[0] <= 9.0 and 7.5 <= far[1] <= 9.5 and (far[2:] >= 10.5).all()
    env = SC2MinigameEnv("FindAndDefeatZerglings", backend="sim")
    obs, _ = env.reset(seed=3)
    seen = int(obs["targetable_mask"].sum())
    assert 1 <= seen < 25  # fog: only the zerglings within the marines' sight


@pytest.mark.parametrize(("map_name", "reward", "enemies", "reinforcements"), [
    ("DefeatRoaches", 10, 4, 5), ("DefeatZerglingsAndBanelings", 5, 10, 4),
])  # fmt: skip
def test_a_cleared_wave_scores_and_brings_reinforcements_with_health_kept(map_name, reward, enemies, reinforcements):
    rules, rng = RULES[map_name], np.random.default_rng(0)
    world = rules.new_world(1)
    rules.reset(world, rng)
    marines = np.flatnonzero(world.owner == 1)
    world.health[marines[:3]] = [10.0, 20.0, 30.0]
    old_tags = set(world.tags[marines].tolist())
    world.health[world.owner == 2] = 0.0  # every enemy dies in the next tick
    assert rules.step(world, 2, rng) == enemies * reward
    assert world.count(2) == enemies and world.count(1) == 9 + reinforcements
    assert not old_tags & set(world.tags.tolist())  # the marines were replaced (new tags)
    assert sorted(world.health[world.owner == 1].tolist())[:4] == [10.0, 20.0, 30.0, 45.0]


def test_losing_the_last_marine_ends_the_episode_with_minus_one_per_marine():
    env = SC2MinigameEnv("DefeatRoaches", backend="sim")
    env.reset(seed=0)
    world = env._env._world
    world.health[world.owner == 1] = -1.0
    noop = {"action_type": 0, "queued": 0, "selected_units": np.full(4, 32), "target_unit": 0, "location": 0}
    obs, reward, terminated, truncated, info = env.step(noop)
    assert (reward, terminated, truncated) == (-9.0, True, False) and info["game_loop"] == 8
    assert obs["selectable_mask"].sum() == 0 and obs["action_type_mask"].tolist() == [1, 0, 0, 0]


# ------------------------------------------------------------------------------------------- the combat model
def test_a_marine_shoots_a_roach_for_5_every_cooldown_and_the_roach_answers():
    world = _world((MARINE.unit_type, 1, (30.0, 28.0)), (ROACH.unit_type, 2, (35.5, 28.0)))  # edges 4.5 apart
    world.constants["regeneration"][:] = 0.0
    ticks = 60
    _run(world, ticks)
    shots = 1 + int((ticks - 1) // MARINE.cooldown_loops)
    assert world.health[1] == ROACH.health - 5 * shots  # 6 damage - 1 armor
    assert world.engaged[1] == 0 and world.health[0] < MARINE.health  # the idle roach answered the attack


def test_idle_allies_within_the_call_for_help_radius_of_the_victim_answer_and_farther_ones_do_not():
    world = _world(
        (MARINE.unit_type, 1, (30.0, 28.0)), (ROACH.unit_type, 2, (34.5, 28.0)),  # the victim, in the marine's range
        (ROACH.unit_type, 2, (34.5, 31.5)),  # 3.5 from the victim: within CallForHelpRadius 4
        (ROACH.unit_type, 2, (39.5, 28.0)),  # 5 from the victim, 8.9 from the marine: sees it, but too far to be called
    )  # fmt: skip
    world.constants["scan"][1:] = 0.0  # the roaches acquire nothing on their own
    world.engaged[0] = 1
    tick.step(world, 2)
    assert world.engaged[1:].tolist() == [0, 0, -1]


def test_a_baneling_bursts_on_every_marine_within_its_splash_and_dies():
    world = _world(
        (BANELING.unit_type, 2, (30.0, 28.0)), (MARINE.unit_type, 1, (31.0, 28.0)), (MARINE.unit_type, 1, (30.0, 30.5)),
        (MARINE.unit_type, 1, (30.0, 25.0)), (ZERGLING.unit_type, 2, (29.0, 28.0)),
    )  # fmt: skip
    dead = np.concatenate(_run(world, 3))
    assert 0 in dead and not world.alive[0]
    np.testing.assert_allclose(world.health[[1, 2]], MARINE.health - (BANELING.damage + BANELING.bonus_vs_light))
    assert world.health[3] == MARINE.health  # 3 away: beyond 2.2 + its radius
    assert world.health[4] == ZERGLING.health  # no damage to its own side


def test_units_move_at_their_speed_and_attack_move_stops_to_fight_where_move_does_not():
    world = _world(
        (MARINE.unit_type, 1, (23.0, 28.0)), (MARINE.unit_type, 1, (23.0, 24.0)), (ZERGLING.unit_type, 2, (33.0, 26.0))
    )
    world.constants["scan"][2] = 0.0  # the zergling stays put
    world.command([world.tags[0]], ATTACK_ABILITY, (43.0, 28.0), 0, False)
    world.command([world.tags[1]], MOVE_ABILITY, (43.0, 24.0), 0, False)
    tick.step(world)
    assert world.pos[0, 0] - 23.0 == pytest.approx(MARINE.speed / LOOPS_PER_SECOND)
    _run(world, 59)
    assert world.order_kind[0] == ATTACK and world.engaged[0] == 2 and world.pos[0, 0] < 33.0  # stopped to shoot
    assert world.order_kind[1] == MOVE_KIND and world.engaged[1] == -1  # walks on past the zergling
    _run(world, 100)
    assert world.order_kind[1] == IDLE and world.pos[1].tolist() == [43.0, 24.0]  # arrived: the order ended


def test_attack_unit_hold_position_and_smart_on_an_enemy():
    world = _world(
        (MARINE.unit_type, 1, (23.0, 28.0)), (MARINE.unit_type, 1, (23.0, 30.0)), (ROACH.unit_type, 2, (40.0, 28.0)),
        (ROACH.unit_type, 2, (40.0, 34.0)),
    )  # fmt: skip
    world.constants["scan"][2:] = 0.0
    world.command([world.tags[0]], SMART, None, int(world.tags[3]), False)  # right click on an enemy = attack it
    world.command([world.tags[1]], HOLD_ABILITY, None, 0, False)
    assert world.order_kind[0] == TARGET and world.order_slot[0] == 3
    _run(world, 120)
    assert world.health[3] < ROACH.health and world.health[2] == ROACH.health
    assert world.pos[1].tolist() == [23.0, 30.0]  # held its position


def test_units_created_on_one_point_are_pushed_apart():
    world = _world(*[(ZERGLING.unit_type, 2, (30.0, 28.0))] * 6)
    _run(world, 30)
    gaps = np.linalg.norm(world.pos[:, None] - world.pos[None], axis=-1) + 10 * np.eye(6)
    assert gaps.min() >= 2 * ZERGLING.radius - 0.05


# ---------------------------------------------------------------------------------------------- the protocol
@pytest.mark.parametrize("map_name", COMBAT_MAPS)
def test_raw_units_carry_health_cooldown_alliance_and_type_through_pysc2(map_name):
    env = SC2MinigameEnv(map_name, backend="sim", sim_observations="protocol")
    obs, _ = env.reset(seed=1)
    sim = env._env
    world = sim._world
    x, y = world.pos[np.flatnonzero(world.owner == 2)[0]]  # the first enemy, seen or not: grid (x, 64 - y)
    attack = {"action_type": 2, "queued": 0, "selected_units": np.array([0, 1, 2, 32]), "target_unit": 0}
    obs, *_ = env.step({**attack, "location": int(64 - y) * 64 + int(x)})
    for _ in range(80):
        ts = sim.step([RAW_FUNCTIONS.no_op()])[0]
        if ts.step_type == StepType.LAST:
            break
        raw = ts.observation["raw_units"]
        if (raw[:, FeatureUnit.health_ratio] < 255).any() and (raw[:, FeatureUnit.weapon_cooldown] > 0).any():
            break
    own, enemy = raw[raw[:, FeatureUnit.alliance] == 1], raw[raw[:, FeatureUnit.alliance] == 4]
    assert set(own[:, FeatureUnit.unit_type]) == {MARINE.unit_type} and (own[:, FeatureUnit.owner] == 1).all()
    assert (enemy[:, FeatureUnit.owner] == 2).all() and (enemy[:, FeatureUnit.weapon_cooldown] == 0).all()
    assert (raw[:, FeatureUnit.health_ratio] < 255).any() and (own[:, FeatureUnit.weapon_cooldown] > 0).any()
    assert set(raw[:, FeatureUnit.shield]) == {0}


def test_the_combat_simulator_speaks_the_same_protocol_as_pysc2s_test_env():
    sim, mock = assert_same_protocol_as_pysc2s_test_env("DefeatZerglingsAndBanelings")
    assert sim.observation_space == mock.observation_space and sim.action_space == mock.action_space


# ------------------------------------------------------------------------------------------------ baselines
def test_focus_fire_beats_attack_move_on_defeat_roaches_by_a_clear_margin():
    env = SC2MinigameEnv("DefeatRoaches", backend="sim", max_selected=8)
    seeds = range(8)
    focus = [run_episode(env, FocusFireAgent(env.act_spec), seed=s) for s in seeds]
    attack = [run_episode(env, AttackMoveAgent(env.act_spec), seed=s) for s in seeds]
    assert np.mean(focus) >= np.mean(attack) + 10, (focus, attack)
