"""State of a combat minigame: two players' units as arrays (one slot per unit), their orders, and commands.

A :class:`CombatWorld` holds every unit of both players in slots: per-slot arrays of position, health, weapon
cooldown, facing, tag, alive, and constants copied from :data:`envs.sim.combat.units.UNIT_STATS` when the unit spawns
(radius, speed, ranges, damage, ...). Slots of dead units stay (``alive`` False) until :meth:`CombatWorld.compact`
drops them (the map rules call it when they remove units, e.g. a new wave). :mod:`envs.sim.combat.tick` steps the
arrays one game loop at a time, vectorised over the slots.

Orders (the player's units only; the enemy has no AI, its units act on their own, see :mod:`envs.sim.combat.tick`):
each unit has a queue of :class:`Order` (head = the order it executes). The head is mirrored in the arrays
``order_kind``, ``order_point`` and ``order_slot`` for the vectorised step. Kinds:

============  ==================================================================================
``IDLE``      no order: the unit attacks enemies that come within its acquisition range
``MOVE``      walk to a point ignoring enemies; ends on arrival
``ATTACK``    attack-move to a point: engage enemies met on the way, then walk on; ends on arrival
``TARGET``    attack one unit (chase it into range); ends when it dies
``HOLD``      stay, attack enemies in weapon range; never ends
``FOLLOW``    walk to a unit (a Move / Smart on a friendly unit, a Move on an enemy); ends on touching it
============  ==================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.sim.abilities import ATTACK_ABILITY, HOLD_ABILITY, SMART, STOP_ABILITY
from envs.sim.combat.shots import Shots
from envs.sim.combat.units import UNIT_STATS

IDLE, MOVE, ATTACK, TARGET, HOLD, FOLLOW = range(6)
"""Order kinds (``CombatWorld.order_kind``)."""

_CONSTANTS = ("radius", "speed", "range", "scan", "sight", "period", "damage", "bonus", "light", "armor", "splash",
              "suicide", "regeneration", "health_max", "damage_point", "missile_speed")  # fmt: skip
"""Per-slot copies of the unit type's statistics (``UnitStats``, in game loops)."""


@dataclass(frozen=True)
class Order:
    """One order: its raw ability id (as the game reports it in ``Unit.orders``), kind, and a point or a unit tag."""

    ability_id: int
    kind: int
    point: tuple[float, float] | None = None
    target: int = 0
    """Tag of the target unit (0: a point or no target)."""


def _empty(dtype, *shape) -> np.ndarray:
    return np.zeros((0, *shape), dtype)


@dataclass
class CombatWorld:
    """Units of player 1 (the agent) and player 2 (the map's enemy) in slots; see the module docstring."""

    map_size: int
    playable: tuple[float, float, float, float]
    """``(x0, y0, x1, y1)``: units never leave it (the map's playable area)."""
    unit_type: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    owner: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    pos: np.ndarray = field(default_factory=lambda: _empty(np.float64, 2))
    health: np.ndarray = field(default_factory=lambda: _empty(np.float64))
    cooldown: np.ndarray = field(default_factory=lambda: _empty(np.float64))
    """Game loops until the weapon can fire again."""
    facing: np.ndarray = field(default_factory=lambda: _empty(np.float64))
    tags: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    alive: np.ndarray = field(default_factory=lambda: _empty(bool))
    engaged: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    """Slot of the enemy the unit attacks or chases (-1: none), chosen by the combat step."""
    order_kind: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    order_point: np.ndarray = field(default_factory=lambda: _empty(np.float64, 2))
    order_slot: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    """Slot of the head order's target unit (-1: none)."""
    orders: list[list[Order]] = field(default_factory=list)
    constants: dict[str, np.ndarray] = field(default_factory=lambda: {k: _empty(np.float64) for k in _CONSTANTS})
    shots: Shots = field(default_factory=Shots)
    """The attacks under way (damage point, missiles in flight; :mod:`envs.sim.combat.shots`)."""
    next_tag: int = 1
    """As :class:`envs.sim.pickups.world.World`: tags continue across the env's worlds."""
    pairs: Any = None
    """Cache of the combat step (:class:`.tick.Pairs`: per pair the sum of radii, whether they are enemies,
    ...), valid while the slots do not change: ``None`` after :meth:`spawn` / :meth:`compact`."""
    index: dict[int, int] | None = None
    """Cache: tag -> slot, valid while the slots do not change (``None`` after :meth:`spawn` / :meth:`compact`)."""

    def __len__(self) -> int:
        return len(self.tags)

    def new_tag(self) -> int:
        tag = (self.next_tag << 18) | 1
        self.next_tag += 1
        return tag

    # ------------------------------------------------------------------------------------------------ units
    def spawn(self, unit_type: int, owner: int, positions: np.ndarray, health: np.ndarray | None = None) -> np.ndarray:
        """Add units of ``unit_type`` for ``owner`` at ``positions (K, 2)`` (full health unless ``health (K,)``);
        returns their slots. New units face east, have no order and a ready weapon."""
        stats = UNIT_STATS[unit_type]
        k = len(positions)
        slots = np.arange(len(self), len(self) + k)
        values = {
            "radius": stats.radius, "speed": stats.speed_per_loop, "range": stats.range, "scan": stats.scan_range,
            "sight": stats.sight, "period": stats.cooldown_loops, "damage": stats.damage, "bonus": stats.bonus_vs_light,
            "light": float(stats.light), "armor": stats.armor, "splash": stats.splash, "suicide": float(stats.suicide),
            "regeneration": stats.regeneration_per_loop, "health_max": stats.health,
            "damage_point": stats.damage_point_loops, "missile_speed": stats.missile_speed_per_loop,
        }  # fmt: skip
        for key, value in values.items():
            self.constants[key] = np.concatenate([self.constants[key], np.full(k, value, np.float64)])
        hp = np.full(k, float(stats.health)) if health is None else np.asarray(health, np.float64)
        self.unit_type = np.concatenate([self.unit_type, np.full(k, unit_type, np.int64)])
        self.owner = np.concatenate([self.owner, np.full(k, owner, np.int64)])
        self.pos = np.concatenate([self.pos, self.clip(np.asarray(positions, np.float64).reshape(k, 2))])
        self.health = np.concatenate([self.health, hp])
        self.cooldown = np.concatenate([self.cooldown, np.zeros(k)])
        self.facing = np.concatenate([self.facing, np.zeros(k)])
        self.tags = np.concatenate([self.tags, np.array([self.new_tag() for _ in range(k)], np.int64)])
        self.alive = np.concatenate([self.alive, np.ones(k, bool)])
        self.engaged = np.concatenate([self.engaged, np.full(k, -1, np.int64)])
        self.order_kind = np.concatenate([self.order_kind, np.zeros(k, np.int64)])
        self.order_point = np.concatenate([self.order_point, np.zeros((k, 2))])
        self.order_slot = np.concatenate([self.order_slot, np.full(k, -1, np.int64)])
        self.orders.extend([] for _ in range(k))
        self.pairs = self.index = None
        return slots

    def compact(self, keep: np.ndarray | None = None) -> None:
        """Drop the slots not in ``keep`` (bool ``(N,)``; default: the dead ones). Slot references (engaged units,
        order targets, attacks under way) follow their units; references to dropped units become -1 (an attack on a
        dropped unit is wasted)."""
        keep = self.alive.copy() if keep is None else keep
        new_slot = np.full(len(self) + 1, -1, np.int64)  # index -1 (no reference) maps to -1
        new_slot[np.flatnonzero(keep)] = np.arange(int(keep.sum()))
        for name in ("unit_type", "owner", "pos", "health", "cooldown", "facing", "tags", "alive", "order_kind",
                     "order_point"):  # fmt: skip
            setattr(self, name, getattr(self, name)[keep])
        self.engaged, self.order_slot = new_slot[self.engaged[keep]], new_slot[self.order_slot[keep]]
        self.shots.remap(new_slot)
        self.constants = {key: value[keep] for key, value in self.constants.items()}
        self.orders = [queue for queue, kept in zip(self.orders, keep.tolist()) if kept]
        self.pairs = self.index = None
        for slot in np.flatnonzero((self.order_slot < 0) & np.isin(self.order_kind, (TARGET, FOLLOW))):
            self.finish_order(int(slot))

    def remove(self, slots: np.ndarray) -> None:
        """Remove units without a death (the maps' ``UnitRemove``): their slots are dropped at once."""
        keep = np.ones(len(self), bool)
        keep[slots] = False
        self.compact(keep)

    def clip(self, pos: np.ndarray) -> np.ndarray:
        """Positions ``(K, 2)`` clipped into the playable area."""
        x0, y0, x1, y1 = self.playable
        return np.clip(pos, (x0, y0), (x1, y1))

    def slot_of(self, tag: int) -> int:
        """Slot of the living unit with ``tag``, or -1."""
        if self.index is None:
            self.index = {t: i for i, t in enumerate(self.tags.tolist())}
        slot = self.index.get(int(tag), -1)
        return slot if slot >= 0 and self.alive[slot] else -1

    def count(self, owner: int) -> int:
        """Living units of ``owner``."""
        return int(np.count_nonzero(self.alive & (self.owner == owner)))

    # ----------------------------------------------------------------------------------------------- orders
    def command(self, tags, ability_id: int, point: tuple[float, float] | None, target_tag: int, queued: bool) -> None:
        """Execute a raw unit command for the player's (owner 1) units among ``tags`` (see the module docstring):
        Smart / Move / Attack on a point or a unit, Stop, HoldPosition. A unit target that does not exist is ignored,
        as the game rejects the command."""
        slots = [s for s in (self.slot_of(t) for t in tags) if s >= 0 and self.owner[s] == 1]
        if ability_id == STOP_ABILITY:
            for slot in slots:
                self.orders[slot].clear()
                self._load(slot)
            return
        if ability_id == HOLD_ABILITY:
            order = Order(ability_id, HOLD)
        elif point is not None:
            order = Order(
                ability_id, ATTACK if ability_id == ATTACK_ABILITY else MOVE, point=(float(point[0]), float(point[1]))
            )
        else:
            target = self.slot_of(target_tag)
            if target < 0:
                return
            hostile = self.owner[target] != 1
            attacks = hostile and ability_id in (SMART, ATTACK_ABILITY)
            order = Order(ability_id, TARGET if attacks else FOLLOW, target=int(target_tag))
        for slot in slots:
            queue = self.orders[slot]
            if queued and queue and queue[0].kind != HOLD:
                queue.append(order)
            else:
                queue[:] = [order]
                self.engaged[slot] = -1
                self._load(slot)

    def finish_order(self, slot: int) -> None:
        """The head order of ``slot`` is done: the next queued one starts."""
        if self.orders[slot]:
            self.orders[slot].pop(0)
        self._load(slot)

    def _load(self, slot: int) -> None:
        """Mirror the head order of ``slot`` into the arrays (orders on units that no longer exist are dropped)."""
        queue = self.orders[slot]
        while queue:
            head = queue[0]
            if head.kind in (TARGET, FOLLOW):
                target = self.slot_of(head.target)
                if target < 0:
                    queue.pop(0)
                    continue
                self.order_slot[slot] = target
            else:
                self.order_slot[slot] = -1
                if head.point is not None:
                    self.order_point[slot] = head.point
            self.order_kind[slot] = head.kind
            return
        self.order_kind[slot], self.order_slot[slot] = IDLE, -1
