"""Rules of the three combat minigames, transcribed from the maps' trigger scripts and regions.

pysc2-evolved ships DeepMind's ``.SC2Map`` files (``pysc2_evolved/maps/mini_games/``, MPQ archives read with
``mpyq``); each rule below cites the trigger of their ``MapScript.galaxy`` or the region of their ``Regions`` file it
comes from. All three: the player's units are Marines (player 1), the enemy's Zerg units (player 2, no AI: the map
never orders them, they act as idle units, :mod:`envs.sim.combat.tick`); the curriculum score is the reward.

- **DefeatRoaches** (script "CombatFocus", trigger ``gt_Init``): with probability 1/2 (``RandomInt(1, 2)``) the
  marines get a random point of "Spawn Region Left" (region 4, x 23.97..27.98, y 25.06..31.05) and the roaches one of
  "Spawn Region Right" (region 5, x 38.02..42.04, y 25.04..31.08), else the other way round. 9 marines stand in a
  vertical column through their point, marine ``i`` (1..9) offset ``(i / 2) * (1 - 2 * (i mod 2))`` in y (integer
  division: 0, +1, -1, +2, ...); 4 roaches at y offsets +0.5, +1.5, -0.5, -1.5. ``gt_ScoreUpdatesandVictory``: a
  roach dies: +10; when none is left, every marine is replaced by a new one (new tag) with the same health, 5
  marines are added at full health, all are put in a new column (the same offsets, ``UnitSetPosition``) on a new
  random side, and 4 new roaches spawn opposite. ``gt_Defeat``: a marine dies: -1; when none is left the triggers
  stop and the units pause. Playable space: region 1, x 22..44, y 20..36. Timer 120 game s (``TimerStart``).
  Fog: ``VisRevealArea(1, RegionFromId(1))``, everything visible.
- **DefeatZerglingsAndBanelings**: the same script, except: 6 zerglings and 4 banelings, all created at the enemy's
  point (the game places each at the nearest free spot); +5 per zergling or baneling that dies (a baneling
  exploding dies too: +5); 4 marines added per wave.
- **FindAndDefeatZerglings** (``gt_Init``): 3 marines at the centre (32, 28) of "Playable Space" (region 1, x 10..54,
  y 12..44) offset 1 at angles 210, 330, 90 degrees; 25 zerglings: one at distance U(8, 9) from the centre at a random
  angle, one in "Zergling Spawn Inner" (region 4, the ring 7.5..9.5 around (32, 28)), 23 in "Zergling Spawn Region"
  (region 3, x 11..53, y 13..43 outside the circle 10.5 around (32, 28)), each drawn again until >= 5 from the closest
  zergling. ``gt_ScoreUpdatesandVictory``: a zergling dies: +1; when none is left 25 new ones in region 1, >= 9 from
  the closest marine and >= 5 from the closest zergling. ``gt_Defeat`` as above. Timer 180 game s. Fog of war on
  (no ``VisRevealArea`` in ``gt_Init``): the player sees what its marines see (sight 9).

End of an episode: the map's timer, or (pysc2's documented end condition, ``docs/mini_games.md``) the loss of the
last marine. The map itself only pauses the game then; the simulator reports the episode's last step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from envs.sim.combat import tick
from envs.sim.combat.units import BANELING, MARINE, ROACH, ZERGLING
from envs.sim.combat.world import CombatWorld
from envs.sim.geometry import MapConfig, Region

PLAYER, ENEMY = 1, 2
SIDE_REGIONS = (Region((23.9748, 25.0637, 27.9787, 31.0483)), Region((38.0207, 25.0427, 42.0351, 31.0773)))
"""DefeatRoaches / DefeatZerglingsAndBanelings: "Spawn Region Left" (region 4) and "Spawn Region Right" (region 5)."""
_GOLDEN_ANGLE = 2.399963


@dataclass(frozen=True)
class Annulus:
    """The ring between radii ``inner`` and ``outer`` around ``centre`` (a circle minus a circle in ``Regions``)."""

    centre: tuple[float, float]
    inner: float
    outer: float

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A uniform random point of the ring, ``(2,)``."""
        while True:
            p = rng.uniform(-self.outer, self.outer, 2)
            if self.inner <= np.hypot(*p) <= self.outer:
                return p + self.centre


def column(point: np.ndarray, count: int) -> np.ndarray:
    """The maps' marine column through ``point``: unit ``i`` (1-based) at y offset ``(i / 2) * (1 - 2 * (i mod 2))``
    (integer division), ``(count, 2)``."""
    i = np.arange(1, count + 1)
    return np.stack([np.full(count, point[0]), point[1] + (i // 2) * (1 - 2 * (i % 2))], axis=1)


def cluster(point: np.ndarray, count: int, spacing: float) -> np.ndarray:
    """``count`` points packed around ``point`` (a sunflower spiral, ``spacing`` apart): the game's placement of units
    created at one point, each at the nearest free spot (approximated), ``(count, 2)``."""
    k = np.arange(count)
    r = spacing * np.sqrt(k)
    return point + np.stack([r * np.cos(k * _GOLDEN_ANGLE), r * np.sin(k * _GOLDEN_ANGLE)], axis=1)


def draw(rng: np.random.Generator, region, constraints: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """A random point of ``region``, drawn again until it is >= ``d`` from the closest of ``points`` for every
    ``(points (K, 2), d)`` of ``constraints`` (the maps' ``while`` loops around ``RegionRandomPoint``)."""
    while True:
        p = region.sample(rng)
        if all(len(pts) == 0 or np.min(np.hypot(*(pts - p).T)) >= d for pts, d in constraints):
            return p


class CombatRules(ABC):
    """A combat minigame: its map, scoring and waves (subclasses place the units)."""

    kind: ClassVar[str] = "combat"
    """Which simulator family plays it (:data:`envs.sim.families.FAMILIES`)."""

    TICK = 2
    """Game loops per combat tick (:func:`.tick.step`): the simulator resolves targets, attacks and deaths
    every 2 game loops (1/11.2 s at "faster"), moving units and counting cooldowns (fractions carried over) by 2 loops
    at a time; the per-loop step costs twice as much for a difference no agent acting every 8 loops could exploit."""

    def __init__(self, name: str, map_config: MapConfig, kill_reward: int, fog: bool):
        self.name, self.map_config, self.kill_reward, self.fog = name, map_config, kill_reward, fog
        self.loss_penalty = 1
        """``gt_Defeat``: -1 per marine lost (all three maps)."""

    def new_world(self, next_tag: int) -> CombatWorld:
        cfg = self.map_config
        return CombatWorld(map_size=cfg.map_size, playable=cfg.playable, next_tag=next_tag)

    @abstractmethod
    def reset(self, world: CombatWorld, rng: np.random.Generator) -> None:
        """Place the units of a new episode (``gt_Init``)."""

    @abstractmethod
    def next_wave(self, world: CombatWorld, rng: np.random.Generator) -> None:
        """The map's response to the last enemy's death."""

    def finished(self, world: CombatWorld) -> bool:
        """The player has no marine left (the episode ends)."""
        return world.count(PLAYER) == 0

    def step(self, world: CombatWorld, loops: int, rng: np.random.Generator) -> int:
        """Play ``loops`` game loops; returns the change of the curriculum score. Deaths are scored the tick they
        happen (the maps' unit-died triggers), and a new wave spawns within that tick."""
        reward = 0
        finished = self.finished(world)  # changes only when units die
        for start in range(0, loops, self.TICK):
            if finished:
                break
            dead = tick.step(world, min(self.TICK, loops - start))
            if len(dead):
                kills = int((world.owner[dead] == ENEMY).sum())
                reward += kills * self.kill_reward - (len(dead) - kills) * self.loss_penalty
                finished = self.finished(world)
                if kills and world.count(ENEMY) == 0 and not finished:
                    self.next_wave(world, rng)
                    finished = self.finished(world)
        return reward


class OppositeSides(CombatRules):
    """DefeatRoaches and DefeatZerglingsAndBanelings: a marine column and an enemy group on opposite sides."""

    def __init__(self, name: str, kill_reward: int, enemies: tuple[tuple[int, tuple[float, ...] | int], ...],
                 reinforcements: int):  # fmt: skip
        super().__init__(name, MapConfig(playable=(22.0, 20.0, 44.0, 36.0)), kill_reward, fog=False)
        self.enemies = enemies
        """Per enemy unit type: its y offsets from the enemy's point, or a count of units created at the point."""
        self.reinforcements = reinforcements

    def _sides(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(marine point, enemy point)``: ``RandomInt(1, 2) == 1`` puts the marines left."""
        left, right = (r.sample(rng) for r in SIDE_REGIONS)
        left_first = rng.integers(1, 3) == 1
        return (left, right) if left_first else (right, left)

    def _spawn_enemies(self, world: CombatWorld, point: np.ndarray) -> None:
        placed = 0  # units created at the point share one cluster
        for unit_type, placement in self.enemies:
            if isinstance(placement, int):
                world.spawn(unit_type, ENEMY, cluster(point, placed + placement, spacing=0.75)[placed:])
                placed += placement
            else:
                world.spawn(unit_type, ENEMY, point + np.array([[0.0, dy] for dy in placement]))

    def reset(self, world: CombatWorld, rng: np.random.Generator) -> None:
        marines, enemies = self._sides(rng)
        world.spawn(MARINE.unit_type, PLAYER, column(marines, 9))
        self._spawn_enemies(world, enemies)

    def next_wave(self, world: CombatWorld, rng: np.random.Generator) -> None:
        survivors = world.health[world.alive & (world.owner == PLAYER)]
        world.remove(np.arange(len(world)))
        marines, enemies = self._sides(rng)
        health = np.concatenate([survivors, np.full(self.reinforcements, float(MARINE.health))])
        world.spawn(MARINE.unit_type, PLAYER, column(marines, len(health)), health=health)
        self._spawn_enemies(world, enemies)


class FindAndDefeat(CombatRules):
    """FindAndDefeatZerglings: 3 marines in the centre, 25 zerglings scattered under fog."""

    CENTRE = np.array([32.0001, 28.0])
    """Centre of region 1 "Playable Space" (x 10.0002..54, y 12..44)."""
    INNER = Annulus((32.0, 28.0), 7.5, 9.5)
    """Region 4 "Zergling Spawn Inner"."""
    OUTER = Region((11.0, 13.0, 53.0, 43.0), exclude=(32.0, 28.0, 10.5))
    """Region 3 "Zergling Spawn Region"."""
    ZERGLINGS = 25

    def __init__(self):
        super().__init__(
            "FindAndDefeatZerglings", MapConfig(playable=(10.0, 12.0, 54.0, 44.0)), kill_reward=1, fog=True
        )
        self.playable_region = Region(self.map_config.playable)

    def reset(self, world: CombatWorld, rng: np.random.Generator) -> None:
        angles = np.radians(120.0 * np.arange(1, 4) + 90.0)
        world.spawn(MARINE.unit_type, PLAYER, self.CENTRE + np.stack([np.cos(angles), np.sin(angles)], axis=1))
        r, a = rng.uniform(8.0, 9.0), rng.uniform(0.0, 2 * np.pi)
        lings = [self.CENTRE + r * np.array([np.cos(a), np.sin(a)])]
        lings.append(draw(rng, self.INNER, [(np.array(lings), 5.0)]))
        while len(lings) < self.ZERGLINGS:
            lings.append(draw(rng, self.OUTER, [(np.array(lings), 5.0)]))
        world.spawn(ZERGLING.unit_type, ENEMY, np.array(lings))

    def next_wave(self, world: CombatWorld, rng: np.random.Generator) -> None:
        world.compact()
        marines = world.pos[world.alive & (world.owner == PLAYER)]
        lings = [draw(rng, self.playable_region, [(marines, 9.0)])]
        while len(lings) < self.ZERGLINGS:
            lings.append(draw(rng, self.playable_region, [(np.array(lings), 5.0), (marines, 9.0)]))
        world.spawn(ZERGLING.unit_type, ENEMY, np.array(lings))


COMBAT_RULES: tuple[CombatRules, ...] = (
    FindAndDefeat(),
    OppositeSides("DefeatRoaches", kill_reward=10, enemies=((ROACH.unit_type, (0.5, 1.5, -0.5, -1.5)),), reinforcements=5),
    OppositeSides(
        "DefeatZerglingsAndBanelings", kill_reward=5, enemies=((ZERGLING.unit_type, 6), (BANELING.unit_type, 4)),
        reinforcements=4,
    ),
)  # fmt: skip
"""The simulated combat minigames (:data:`envs.sim.catalog.RULES` lists them beside the pickups maps)."""
