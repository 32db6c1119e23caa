"""What an observation shows of an economy world: every unit's observed values at the current game loop, in the raw
units' order (creation order), for both observation paths (``protocol.py`` writes them into protos, ``direct.py``
into pysc2's arrays), and the player's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.sim.economy import units as u
from envs.sim.economy.world import EconomyWorld

OrderView = tuple[int, tuple[float, float] | None, int, float]
"""``(ability id, target point or None, target unit tag or 0, progress 0..1)``."""


@dataclass
class Snapshot:
    """The units of a world at one game loop, ``K`` of them: per-unit arrays and order lists."""

    tags: np.ndarray
    """``(K,)`` int64."""
    type_ids: np.ndarray
    owners: np.ndarray
    pos: np.ndarray
    """``(K, 2)`` float64 world positions."""
    progress: np.ndarray
    """``(K,)`` build progress 0..1 (1: finished, and every non-structure)."""
    minerals: np.ndarray
    """``(K,)`` mineral contents (fields), else 0."""
    vespene: np.ndarray
    """``(K,)`` vespene contents (geysers, and a Refinery: its geyser's), else 0."""
    orders: list[list[OrderView]]


def snapshot(world: EconomyWorld) -> Snapshot:
    """The observed values of ``world``'s units now."""
    t = world.loop
    n = len(world.units)
    tags, type_ids, owners = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    pos, progress = np.zeros((n, 2)), np.ones(n)
    minerals, vespene = np.zeros(n, np.int64), np.zeros(n, np.int64)
    orders: list[list[OrderView]] = []
    units = world.units
    for i, unit in enumerate(units.values()):
        kind = unit.kind
        tags[i], type_ids[i], owners[i] = unit.tag, kind.type_id, unit.owner
        pos[i] = world.position(unit, t)
        if not unit.done:
            progress[i] = min((t - unit.started) / kind.loops, 1.0)
        if kind is u.MINERAL_FIELD:
            minerals[i] = unit.contents
        elif kind is u.VESPENE_GEYSER:
            vespene[i] = unit.contents
        elif kind is u.REFINERY and unit.geyser in units:
            vespene[i] = units[unit.geyser].contents
        queue: list[OrderView] = []
        for k, order in enumerate(unit.orders):
            done = 0.0
            if k == 0 and unit.queue and unit.done:  # the trainee in production
                done = min((t - unit.started) / unit.queue[0].loops, 1.0)
            queue.append((order.ability_id, order.point, order.target, done))
        orders.append(queue)
    return Snapshot(tags, type_ids, owners, pos, progress, minerals, vespene, orders)


def player_numbers(world: EconomyWorld) -> dict[str, int]:
    """The player's fields of the observation (pysc2's ``player`` names)."""
    used, cap = world.food()
    scvs = marines = 0
    for unit in world.units.values():
        scvs += unit.kind is u.SCV
        marines += unit.kind is u.MARINE
    return {
        "minerals": world.minerals, "vespene": world.vespene, "food_used": used, "food_cap": cap,
        "food_army": marines, "food_workers": scvs, "idle_worker_count": world.idle_workers(), "army_count": marines,
    }  # fmt: skip
