"""The pickups maps' world (MoveToBeacon, CollectMineralShards): marines moving toward commanded points at the
game's speed, neutral pickups (the beacon, mineral shards).

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

from envs.sim.abilities import ATTACK_ABILITY, HOLD_ABILITY, MOVE_ABILITY, SMART, STOP_ABILITY
from envs.sim.geometry import MapConfig, Region

ABILITY_EFFECTS: dict[int, str] = {
    SMART: "move",  # on the ground = move; on a beacon / shard (neutral, not attackable) = move to it
    MOVE_ABILITY: "move",  # to a point, or to a unit
    ATTACK_ABILITY: "move",  # there is nothing attackable on these maps (attack-move to a point; on a unit: move to it)
    STOP_ABILITY: "stop",
    HOLD_ABILITY: "stop",
}
"""What the marines do on each ability the simulator executes (:mod:`envs.sim.abilities`); the game rejects other
abilities for marines, the simulator ignores them.

A "move" with a target unit (``Move_unit``, ``Smart_unit``, ``Attack_unit``) sends the marines to that pickup's
current position; the order shows ``target_unit_tag`` in the raw units and ends on arrival or when the pickup is
taken (respawned pickups get new tags), as the game drops an order whose target is gone. A target that is not an
existing pickup (a marine, a stale tag) is ignored, as a command the simulator cannot execute."""


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
    def empty(cls, config: MapConfig, num_marines: int, next_tag: int = 1) -> World:
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
    def random_points(
        rng: np.random.Generator, region: Region, n: int, away_from: np.ndarray, min_dist: float
    ) -> np.ndarray:
        """``n`` points of ``region``, each redrawn until it is >= ``min_dist`` from the closest point of ``away_from``."""
        out = np.empty((n, 2))
        for i in range(n):
            while True:
                p = region.sample(rng)
                if len(away_from) == 0 or np.min(np.hypot(*(away_from - p).T)) >= min_dist:
                    out[i] = p
                    break
        return out

    def command(self, tags, ability_id: int, point: tuple[float, float] | None, target_tag: int, queued: bool) -> None:
        """Execute a raw unit command (:data:`ABILITY_EFFECTS`) for the marines among ``tags``: a move to ``point``, or
        to the pickup ``target_tag`` (``point`` None), or a stop. A command the simulator cannot execute (another
        ability; a unit target that is not an existing pickup) is ignored."""
        effect = ABILITY_EFFECTS.get(ability_id)
        target = int(target_tag) if point is None and target_tag else None
        if effect is None or (effect == "move" and point is None and not (target and self.is_pickup(target))):
            return
        for i, tag in enumerate(self.marines.tags):
            if tag not in tags:
                continue
            if effect == "stop":
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
        for pickups (:meth:`envs.sim.pickups.rules.Rules.step`).
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
