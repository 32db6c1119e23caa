"""2-D dynamics of the simulated minigames: marines moving toward commanded points at the game's speed.

Units are in world coordinates (the game's: x right, y up, map ``map_size`` x ``map_size``). Marines do not collide (the real game's separation is
ignored); a marine with an order moves straight toward the order's target at ``marine_speed`` per game
loop and drops the order on arrival, then starts its next queued order. A target is a point or a unit:
a unit-targeted order (Move / Smart / Attack on a pickup) heads for that pickup's current position and
ends on arrival or when the pickup no longer exists (:meth:`World.drop_orders_without_target`; the rules
call it when a pickup is taken), as the game drops an order whose target is gone.
:meth:`World.advance` integrates several game loops at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Region:
    """A rectangle ``(x0, y0, x1, y1)`` minus an optional circle ``(cx, cy, r)``, as in the maps' Regions file."""

    rect: tuple[float, float, float, float]
    exclude: tuple[float, float, float] | None = None

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A uniform random point of the region, ``(2,)``."""
        x0, y0, x1, y1 = self.rect
        while True:
            p = rng.uniform((x0, y0), (x1, y1))
            if self.exclude is None or np.hypot(p[0] - self.exclude[0], p[1] - self.exclude[1]) >= self.exclude[2]:
                return p


@dataclass(frozen=True)
class MapConfig:
    """Geometry and unit constants shared by both maps (read off the .SC2Map files shipped with pysc2-evolved)."""

    map_size: int = 64
    """Map side in world units (both maps are 64 x 64)."""
    playable: tuple[float, float, float, float] = (22.0, 20.0, 44.0, 36.0)
    """``(x0, y0, x1, y1)`` of region 1 "Playable Space", where the marines spawn."""
    marine_speed: float = 2.25 / 16
    """World units per game loop: the marine's 2.25 per game second (3.15 per real second at "faster")."""
    marine_radius: float = 0.375
    marine_health: int = 45


@dataclass
class Units:
    """A set of units of one kind: positions ``(K, 2)``, ``alive (K,)``, unit tags ``(K,)``."""

    pos: np.ndarray
    alive: np.ndarray
    tags: np.ndarray


@dataclass
class World:
    """Marines (with order queues) and neutral pickups (beacon or shards)."""

    config: MapConfig
    marines: Units
    pickups: Units
    orders: list[list[tuple[int, np.ndarray | int]]] = field(default_factory=list)
    """Per marine, its queue of ``(ability_id, target)``: a point ``(2,)`` array, or the ``int`` tag of the pickup it
    heads for (a unit-targeted order); the head is being executed."""
    facing: np.ndarray = field(default_factory=lambda: np.zeros(0))
    next_tag: int = 1
    """Index of the next unit tag; a new world continues its predecessor's count (``World.empty(next_tag=)``),
    so a tag names one unit for the whole life of the env, as the game's tags do within a game."""

    @classmethod
    def empty(cls, config: MapConfig, num_marines: int, next_tag: int = 1) -> "World":
        world = cls(
            config=config,
            marines=Units(np.zeros((num_marines, 2)), np.ones(num_marines, bool), np.zeros(num_marines, np.int64)),
            pickups=Units(np.zeros((0, 2)), np.zeros(0, bool), np.zeros(0, np.int64)),
            orders=[[] for _ in range(num_marines)],
            facing=np.zeros(num_marines),
            next_tag=next_tag,
        )
        world.marines.tags[:] = [world.new_tag() for _ in range(num_marines)]
        return world

    def new_tag(self) -> int:
        """A fresh unit tag, shaped like the game's (index << 18 | recycle count)."""
        tag = (self.next_tag << 18) | 1
        self.next_tag += 1
        return tag

    @staticmethod
    def random_points(rng: np.random.Generator, region: Region, n: int, away_from: np.ndarray, min_dist: float) -> np.ndarray:
        """``n`` points of ``region``, each redrawn until it is >= ``min_dist`` from the closest point of ``away_from``."""
        out = np.empty((n, 2))
        for i in range(n):
            while True:
                p = region.sample(rng)
                if len(away_from) == 0 or np.min(np.hypot(*(away_from - p).T)) >= min_dist:
                    out[i] = p
                    break
        return out

    def command(
        self, tags, ability: str, point: np.ndarray | None, queued: bool, ability_id: int, target_tag: int = 0
    ) -> None:
        """Give the marines with ``tags`` a ``"move"`` (to ``point``, or to the pickup ``target_tag`` when it is
        non-zero) or ``"stop"`` order."""
        target = int(target_tag) if target_tag else None
        for i, tag in enumerate(self.marines.tags):
            if tag not in tags:
                continue
            if ability == "stop":
                self.orders[i].clear()
                continue
            order = (ability_id, target if target is not None else np.asarray(point, float))
            if queued:
                self.orders[i].append(order)
            else:
                self.orders[i][:] = [order]

    def is_pickup(self, tag: int) -> bool:
        """Whether ``tag`` names a pickup that exists now (the targets the simulator's unit orders can have)."""
        return bool(np.any(self.pickups.tags[self.pickups.alive] == tag))

    def has_unit_orders(self) -> bool:
        """Whether any marine has a unit-targeted order (queued or current)."""
        return any(type(order[1]) is int for queue in self.orders for order in queue)

    def drop_orders_without_target(self) -> None:
        """End the unit-targeted orders whose pickup no longer exists (taken, or respawned under a new tag)."""
        alive = set(self.pickups.tags[self.pickups.alive].tolist())
        for queue in self.orders:
            if any(type(order[1]) is int and order[1] not in alive for order in queue):
                queue[:] = [order for order in queue if type(order[1]) is not int or order[1] in alive]

    def save(self) -> tuple:
        """The marines' motion state (positions, facing, order queues), for :meth:`restore`."""
        return self.marines.pos.copy(), self.facing.copy(), [list(queue) for queue in self.orders]

    def restore(self, saved: tuple) -> None:
        pos, facing, orders = saved
        self.marines.pos[:], self.facing[:] = pos, facing
        for queue, old in zip(self.orders, orders):
            queue[:] = old

    def advance(self, loops: int) -> np.ndarray:
        """Move the marines through ``loops`` game loops; returns their positions after each loop ``(loops, M, 2)``.

        Marine motion does not depend on the pickups except through unit-targeted orders, whose target stands
        still until it is taken, so a whole agent step is integrated at once and the rules then scan the path
        for pickups (:meth:`envs.sim.rules.Rules.step`).
        """
        speed = self.config.marine_speed
        paths = []
        pickup_pos: dict[int, tuple[float, float]] | None = None
        for i, queue in enumerate(self.orders):
            x, y = self.marines.pos[i]
            if not queue:
                paths.append([(x, y)] * loops)
                continue
            path = []
            for _ in range(loops):
                if queue:
                    target = queue[0][1]
                    if type(target) is int:  # a unit-targeted order heads for its pickup's current position
                        if pickup_pos is None:
                            alive = self.pickups.alive
                            pickup_pos = dict(zip(self.pickups.tags[alive].tolist(), self.pickups.pos[alive].tolist()))
                        if target not in pickup_pos:  # the pickup is gone: the order ends
                            queue.pop(0)
                            path.append((x, y))
                            continue
                        tx, ty = pickup_pos[target]
                    else:
                        tx, ty = target
                    dx, dy = tx - x, ty - y
                    dist = math.hypot(dx, dy)
                    if dist <= speed:
                        x, y = tx, ty
                        queue.pop(0)
                    else:
                        x, y = x + dx * speed / dist, y + dy * speed / dist
                        self.facing[i] = math.atan2(dy, dx) % (2 * math.pi)
                path.append((x, y))
            self.marines.pos[i] = x, y
            paths.append(path)
        return np.array(paths, dtype=np.float64).transpose(1, 0, 2)
