"""The simulator's state as a replay :class:`envs.render.Frame` (:meth:`envs.sim.env.SimSC2Env.frame`).

Each family says what its world holds through one small function (:data:`FAMILY_UNITS`, by ``rules.kind``), in world
coordinates: every unit (the fogged ones too, marked ``hidden``), its health and where its current order goes, read
from the world itself (the raw units have no order targets):

- ``pickups``: the marines (order queue head: a point, or the pickup it heads for) and the pickups;
- ``combat``: every living slot; the line goes to the enemy the unit engages (an attack), else to its head order's
  point or target unit (attack-move and unit attacks drawn as attacks);
- ``economy``: every unit at its interpolated position; a walking unit's line goes to the end of its leg, a standing
  one's to its head order's point or target; structures under construction are rings.

:func:`sim_frame` then maps world coordinates onto the adapter's raw-unit grid with pysc2's own world -> raw
transform (the ``Linear`` steps of ``Features._world_to_minimap_px``, without the final floor), so that units, the
playable area and the action's location cells share one coordinate system.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from envs.pysc2_compat import transform
from envs.render import ENEMY, NEUTRAL, SELF, Frame, UnitView
from envs.sim.combat import world as combat
from envs.sim.economy import world as economy
from envs.sim.pickups.protocol import MARINE


def _pickups(rules: Any, world: Any, view: tuple) -> list[UnitView]:
    config, marines, pickups = world.config, world.marines, world.pickups
    alive = pickups.alive
    where = dict(zip(pickups.tags[alive].tolist(), pickups.pos[alive].tolist()))
    out = []
    for i in np.flatnonzero(marines.alive).tolist():
        target = None
        if world.orders[i]:
            head = world.orders[i][0][1]  # a point, or the tag of the pickup it heads for
            if type(head) is not int:
                target = (float(head[0]), float(head[1]))
            elif head in where:
                target = (where[head][0], where[head][1])
        x, y = marines.pos[i].tolist()
        out.append(UnitView(x, y, config.marine_radius, SELF, MARINE, 1.0, int(marines.tags[i]), target))
    for (x, y), tag in zip(pickups.pos[alive].tolist(), pickups.tags[alive].tolist()):
        out.append(UnitView(x, y, rules.pickup_radius, NEUTRAL, rules.pickup_unit_type, None, tag))
    return out


def _combat(rules: Any, world: Any, view: tuple) -> list[UnitView]:
    seen = view[0].seen if view else world.alive
    pos, radius, health_max = world.pos.tolist(), world.constants["radius"], world.constants["health_max"]
    out = []
    for i in np.flatnonzero(world.alive).tolist():
        kind, engaged, slot = int(world.order_kind[i]), int(world.engaged[i]), int(world.order_slot[i])
        target, attacking = None, False
        if engaged >= 0:
            target, attacking = tuple(pos[engaged]), True
        elif kind in (combat.MOVE, combat.ATTACK):
            target, attacking = tuple(world.order_point[i].tolist()), kind == combat.ATTACK
        elif kind in (combat.TARGET, combat.FOLLOW) and slot >= 0:
            target, attacking = tuple(pos[slot]), kind == combat.TARGET
        own = int(world.owner[i]) == 1
        health = float(world.health[i] / health_max[i]) if health_max[i] > 0 else None
        out.append(
            UnitView(
                pos[i][0],
                pos[i][1],
                float(radius[i]),
                SELF if own else ENEMY,
                int(world.unit_type[i]),
                health,
                int(world.tags[i]),
                target,
                attacking,
                hidden=not bool(seen[i]),
            )  # fmt: skip
        )
    return out


_WALKING = (economy.MOVE, economy.TO, economy.RETURN, economy.BUILD_TO)


def _economy(rules: Any, world: Any, view: tuple) -> list[UnitView]:
    out = []
    for unit in world.units.values():
        x, y = world.position(unit)
        target = None
        if unit.kind.structure:
            pass
        elif unit.phase in _WALKING and (unit.x1, unit.y1) != (x, y):
            target = (unit.x1, unit.y1)
        elif unit.orders:
            head = unit.orders[0]
            other = world.units.get(head.target) if head.point is None else None
            target = head.point if other is None else (other.x, other.y)
        own = unit.owner == economy.PLAYER
        health = 1.0 if own and unit.kind.health > 0 else None  # nothing deals damage on these maps
        out.append(
            UnitView(
                x,
                y,
                unit.kind.radius,
                SELF if own else NEUTRAL,
                unit.kind.type_id,
                health,
                unit.tag,
                target,
                building=not unit.done,
            )  # fmt: skip
        )
    return out


FAMILY_UNITS: dict[str, Callable[[Any, Any, tuple], list[UnitView]]] = {
    "pickups": _pickups,
    "combat": _combat,
    "economy": _economy,
}
"""Per family (``rules.kind``): ``(rules, world, view arguments) -> units`` in world coordinates."""


class WorldToGrid:
    """pysc2's world -> raw-unit transform without its final floor: world points to continuous grid coordinates."""

    def __init__(self, world_to_raw: transform.Chain):
        self._linear = [
            (t.scale.x, t.scale.y, t.offset.x, t.offset.y)
            for t in world_to_raw.transforms
            if isinstance(t, transform.Linear)
        ]

    def point(self, x: float, y: float) -> tuple[float, float]:
        for scale_x, scale_y, offset_x, offset_y in self._linear:
            x, y = x * scale_x + offset_x, y * scale_y + offset_y
        return float(x), float(y)

    def distance(self, d: float) -> float:
        for scale_x, _, _, _ in self._linear:  # pysc2's fwd_dist: the x scale of each Linear step
            d = d * scale_x
        return float(abs(d))


def sim_frame(rules: Any, state: tuple, world_to_raw: transform.Chain, grid: tuple[int, int], title: str = "") -> Frame:
    """The frame of the simulator's last observation ``state = (world, game_loop, score, *view)`` on the raw-unit
    ``grid (W, H)``."""
    world, game_loop, score, *view = state
    if rules.kind not in FAMILY_UNITS:
        raise ValueError(f"the simulator family {rules.kind!r} has no renderer (envs.sim.render.FAMILY_UNITS)")
    to_grid = WorldToGrid(world_to_raw)
    units = []
    for u in FAMILY_UNITS[rules.kind](rules, world, tuple(view)):
        x, y = to_grid.point(u.x, u.y)
        target = None if u.order_target is None else to_grid.point(*u.order_target)
        units.append(
            UnitView(
                x,
                y,
                to_grid.distance(u.radius),
                u.alliance,
                u.unit_type,
                u.health,
                u.tag,
                target,
                u.attacking,
                u.selected,
                u.building,
                u.hidden,
            )  # fmt: skip
        )
    x0, y0, x1, y1 = rules.map_config.playable
    (ax, ay), (bx, by) = to_grid.point(x0, y0), to_grid.point(x1, y1)
    playable = (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))
    return Frame(
        size=grid, playable=playable, units=tuple(units), game_loop=int(game_loop), score=float(score), title=title
    )
