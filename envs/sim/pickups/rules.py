"""Rules of the pickups minigames (MoveToBeacon, CollectMineralShards), transcribed from the maps' own trigger
scripts and regions (numpy only, no pysc2: :data:`envs.sim.catalog.RULES` lists them for the registry).

pysc2-evolved ships DeepMind's ``.SC2Map`` files; ``MapScript.galaxy`` and ``Regions`` inside them
(read with ``mpyq``) say:

- MoveToBeacon: the marine spawns uniformly in "Playable Space" (22..44 x 20..36); the beacon in
  "Beacon Spawn Region" (23.5..42.5 x 21.5..34.5 minus the circle r=4 around (33, 28)), redrawn until
  >= 5 from the marine. Every game loop (0.0625 game s), if the marine is inside "Beacon Area" (circle
  r=1.25 around the beacon): score +1 and the beacon is redrawn the same way.
- CollectMineralShards: 2 marines in "Playable Space"; 20 shards ("NaturalMinerals") in "Mineral Area"
  (23..43 x 21..35), each redrawn until >= 2 from the closest marine. A marine picking one up gains
  100 minerals; score = minerals / 100. When none is left, 20 new ones spawn the same way.
- Both: a 120 game-second timer (1920 game loops) ends the episode.

Not from the maps (approximations): shards are picked up when a marine's centre comes within
``pickup_radius + marine_radius``; marines do not collide with each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from envs.sim.geometry import MapConfig, Region
from envs.sim.pickups.world import Units, World


@dataclass(frozen=True)
class Rules:
    """One pickups minigame."""

    name: str
    num_marines: int
    num_pickups: int
    pickup_unit_type: int
    """Unit type of the pickup in the raw observation (the maps' own unit types)."""
    pickup_radius: float
    reach: float
    """A pickup is taken when a marine's centre is within this distance of its centre."""
    spawn_region: Region
    min_dist: float
    """Pickups are (re)drawn until at least this far from the closest marine."""
    respawn_all_at_once: bool
    """True: respawn the whole set when all are picked up (shards); False: respawn each at once (beacon)."""
    minerals_per_pickup: int
    """Minerals the player gains per pickup (shards give 100; the beacon none)."""

    kind: ClassVar[str] = "pickups"
    """Which simulator family plays it (:data:`envs.sim.families.FAMILIES`)."""
    map_config: ClassVar[MapConfig] = MapConfig()

    def new_world(self, next_tag: int) -> World:
        return World.empty(self.map_config, self.num_marines, next_tag=next_tag)

    def finished(self, world: World) -> bool:
        """Only the timer ends these maps."""
        return False

    def reset(self, world: World, rng: np.random.Generator) -> None:
        playable = Region(world.config.playable)
        world.marines.pos[:] = world.random_points(rng, playable, self.num_marines, np.zeros((0, 2)), 0.0)
        world.pickups = Units(
            np.zeros((self.num_pickups, 2)), np.zeros(self.num_pickups, bool), np.zeros(self.num_pickups, np.int64)
        )
        self._spawn(world, rng, np.arange(self.num_pickups))

    def _spawn(self, world: World, rng: np.random.Generator, idx: np.ndarray) -> None:
        world.pickups.pos[idx] = world.random_points(rng, self.spawn_region, len(idx), world.marines.pos, self.min_dist)
        world.pickups.alive[idx] = True
        world.pickups.tags[idx] = [world.new_tag() for _ in idx]

    def step(self, world: World, loops: int, rng: np.random.Generator) -> int:
        """Play ``loops`` game loops: move the marines, take the pickups they touch; returns the reward.

        Without unit-targeted orders the marines' path does not depend on the pickups: it is integrated at
        once and scanned (:meth:`collect`). A unit-targeted order ends the game loop its pickup is taken (by
        any marine), so then the step is replayed up to each contact, the orders whose target is gone are
        dropped, and the rest of the step is integrated again: the same result as loop-by-loop play.
        """
        reward = 0
        while loops > 0 and world.has_unit_orders():
            saved = world.save()
            path = world.advance(loops)
            t, taken = self._contact(world, path, 0)
            if t is None:
                return reward
            world.restore(saved)
            world.advance(t + 1)  # the same motion, up to the first contact
            reward += self._take(world, taken, rng)
            world.drop_orders_without_target()
            loops -= t + 1
        if loops > 0:
            reward += self.collect(world, world.advance(loops), rng)
        return reward

    def collect(self, world: World, path: np.ndarray, rng: np.random.Generator) -> int:
        """Scan the marines' ``path (L, M, 2)`` game loop by game loop for pickups; returns the reward.

        Equivalent to checking after every game loop (as the maps' triggers do): at the first loop with
        a contact the touched pickups are taken and respawned (with the marines where they are at that
        loop), then the scan goes on from the next loop. Valid while no marine has a unit-targeted order
        (their paths do not depend on the pickups); :meth:`step` handles the other case.
        """
        reward, t0 = 0, 0
        while t0 < len(path):
            t, taken = self._contact(world, path, t0)
            if t is None:
                break
            world.marines.pos[:] = path[t]
            reward += self._take(world, taken, rng)
            t0 = t + 1
        world.marines.pos[:] = path[-1]
        return reward

    def _contact(self, world: World, path: np.ndarray, t0: int) -> tuple[int | None, np.ndarray | None]:
        """First loop ``t >= t0`` of ``path`` with a marine touching a pickup, and the touched pickups' indices."""
        if not world.pickups.alive.any():
            return None, None
        alive = np.flatnonzero(world.pickups.alive)
        d = np.linalg.norm(path[t0:, :, None, :] - world.pickups.pos[alive][None, None], axis=-1)  # (L', M, A)
        hit = (d <= self.reach).any(axis=1)  # (L', A)
        loops = np.flatnonzero(hit.any(axis=1))
        if len(loops) == 0:
            return None, None
        return t0 + int(loops[0]), alive[hit[loops[0]]]

    def _take(self, world: World, taken: np.ndarray, rng: np.random.Generator) -> int:
        """Take the pickups ``taken`` (marines where they touched them) and respawn per the map; returns the reward."""
        world.pickups.alive[taken] = False
        if not self.respawn_all_at_once:
            self._spawn(world, rng, taken)
        elif not world.pickups.alive.any():
            self._spawn(world, rng, np.arange(self.num_pickups))
        return len(taken)


_MARINE_RADIUS = MapConfig().marine_radius

PICKUP_RULES: tuple[Rules, ...] = (
    Rules(
        "MoveToBeacon", num_marines=1, num_pickups=1, pickup_unit_type=317, pickup_radius=1.25, reach=1.25,
        spawn_region=Region((23.5, 21.5, 42.5, 34.5), exclude=(33.0, 28.0, 4.0)), min_dist=5.0,
        respawn_all_at_once=False, minerals_per_pickup=0,
    ),
    Rules(
        "CollectMineralShards", num_marines=2, num_pickups=20, pickup_unit_type=1680, pickup_radius=0.5,
        reach=0.5 + _MARINE_RADIUS, spawn_region=Region((23.0, 21.0, 43.0, 35.0)), min_dist=2.0,
        respawn_all_at_once=True, minerals_per_pickup=100,
    ),
)  # fmt: skip
"""The simulated pickups minigames (:data:`envs.sim.catalog.RULES` lists them beside the combat maps). Unit types 317
(Beacon_Terran) and 1680 (NaturalMinerals) are the maps' custom units, absent from pysc2's units.py."""
