"""Attacks under way (envs/sim/combat/shots.py): the damage point, the Roach's missile, wasted shots."""

from __future__ import annotations

import numpy as np

from envs.sim.combat import tick
from envs.sim.combat.units import MARINE, ROACH, ZERGLING
from envs.sim.combat.world import CombatWorld

PLAYABLE = (22.0, 20.0, 44.0, 36.0)


def _world(*units: tuple[int, int, tuple[float, float]]) -> CombatWorld:
    world = CombatWorld(64, PLAYABLE)
    for unit_type, owner, pos in units:
        world.spawn(unit_type, owner, np.array([pos], float))
    world.constants["regeneration"][:] = 0.0
    world.constants["scan"][:] = 0.0  # nobody acquires on its own: the test orders the attacks
    return world


def _roach_on_marine(gap: float) -> CombatWorld:
    """A roach (slot 0) attacking a marine (slot 1) whose edge is ``gap`` from its edge, the marine standing still."""
    x = 30.0 + ROACH.radius + gap + MARINE.radius
    world = _world((ROACH.unit_type, 2, (30.0, 28.0)), (MARINE.unit_type, 1, (x, 28.0)))
    world.engaged[0] = 1
    world.constants["scan"][0] = 10.0
    return world


def _first_hit(world: CombatWorld, slot: int, loops: int = 1, limit: int = 100) -> int:
    """Game loops until ``slot`` first loses health, stepping ``loops`` at a time."""
    start = world.health[slot]
    for elapsed in range(0, limit, loops):
        tick.step(world, loops)
        if world.health[slot] < start:
            return elapsed + loops
    raise AssertionError("no hit")


def test_the_roachs_acid_lands_after_its_damage_point_and_its_flight():
    for gap in (1.0, 3.9):
        world = _roach_on_marine(gap)
        loops = _first_hit(world, 1)
        # the damage point (0.167 normal-speed s = 2.67 loops), then the flight from the roach's centre to the
        # marine's edge at 18.75 per normal-speed second (1.17 per loop); one loop of resolution
        expected = ROACH.damage_point_loops + (ROACH.radius + gap) / ROACH.missile_speed_per_loop
        assert abs(loops - expected) <= 1.0, (gap, loops, expected)
        assert world.health[1] == MARINE.health - ROACH.damage


def test_at_the_maps_tick_the_delay_is_kept_to_within_a_tick():
    world = _roach_on_marine(3.9)
    loops = _first_hit(world, 1, loops=2)
    expected = ROACH.damage_point_loops + (ROACH.radius + 3.9) / ROACH.missile_speed_per_loop
    assert abs(loops - expected) <= 2.0


def test_a_marines_shot_lands_in_the_tick_it_fires_and_a_zerglings_claws_a_tick_later():
    world = _world((MARINE.unit_type, 1, (30.0, 28.0)), (ROACH.unit_type, 2, (34.0, 28.0)))
    world.engaged[0] = 0
    world.constants["scan"][0] = 10.0
    assert _first_hit(world, 1, loops=2) == 2  # damage point 0.8 loops: the same tick
    world = _world((ZERGLING.unit_type, 2, (30.0, 28.0)), (MARINE.unit_type, 1, (30.8, 28.0)))
    world.engaged[0] = 1
    world.constants["scan"][0] = 10.0
    assert _first_hit(world, 1, loops=2) == 4  # 2.67 loops: the next tick
    assert world.health[1] == MARINE.health - ZERGLING.damage


def test_a_missile_whose_target_dies_in_flight_is_wasted():
    world = _roach_on_marine(3.9)
    for _ in range(4):  # past the damage point: the missile flies
        tick.step(world, 1)
    assert len(world.shots) == 1 and np.isinf(world.shots.wait[0])
    world.alive[1] = False  # killed by someone else meanwhile
    health = world.health.copy()
    tick.step(world, 1)
    assert len(world.shots) == 0 and (world.health == health).all()


def test_an_attacker_killed_during_its_damage_point_does_not_attack_but_its_missile_in_flight_lands():
    world = _roach_on_marine(1.0)
    tick.step(world, 1)  # the attack starts
    assert len(world.shots) == 1 and world.shots.wait[0] > 0
    world.alive[0] = False
    for _ in range(10):
        tick.step(world, 1)
    assert world.health[1] == MARINE.health and len(world.shots) == 0

    world = _roach_on_marine(3.9)
    for _ in range(4):
        tick.step(world, 1)
    assert np.isinf(world.shots.wait[0])
    world.alive[0] = False
    for _ in range(10):
        tick.step(world, 1)
    assert world.health[1] == MARINE.health - ROACH.damage


def test_a_unit_winding_up_stands_still_and_focused_shots_overkill():
    # three roaches fire at one marine of 20 hit points: two acids kill it, the third is wasted
    world = _world(
        (ROACH.unit_type, 2, (30.0, 27.0)), (ROACH.unit_type, 2, (30.0, 28.5)), (ROACH.unit_type, 2, (30.0, 30.0)),
        (MARINE.unit_type, 1, (34.0, 28.5)), (MARINE.unit_type, 1, (38.0, 34.0)),
    )  # fmt: skip
    world.health[3] = 20.0
    world.engaged[:3] = 3
    world.constants["scan"][:3] = 10.0
    pos = world.pos[:3].copy()
    tick.step(world, 1)
    assert len(world.shots) == 3
    np.testing.assert_array_equal(world.pos[:3], pos)  # firing and winding up: no step
    for _ in range(12):
        tick.step(world, 1)
    assert not world.alive[3] and len(world.shots) == 0
    assert world.health[4] == MARINE.health  # nothing went elsewhere


def test_compacting_the_world_drops_the_shots_at_removed_units_and_keeps_missiles_of_removed_attackers():
    world = _roach_on_marine(3.9)
    world.spawn(MARINE.unit_type, 1, np.array([[30.0, 33.0]]))
    for _ in range(4):
        tick.step(world, 1)
    assert np.isinf(world.shots.wait[0])
    keep = np.array([False, True, True])
    world.compact(keep)  # the roach is gone: its acid flies on, now at slot 0
    assert world.shots.source.tolist() == [-1] and world.shots.target.tolist() == [0]
    for _ in range(10):
        tick.step(world, 1)
    assert world.health[0] == MARINE.health - ROACH.damage
    world = _roach_on_marine(3.9)
    tick.step(world, 1)
    world.remove(np.array([1]))  # the target is removed (a new wave)
    assert len(world.shots) == 0
