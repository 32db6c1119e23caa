"""State of an economy minigame (CollectMineralsAndGas, BuildMarines): the player's structures, SCVs and marines, the
neutral mineral fields and geysers, the player's resources and supply, and the raw unit commands.

Time is event-driven: every unit that acts has the game loop of its next event (a leg's arrival, the end of a trip's
mining, a structure's or a trainee's completion) in one heap; :meth:`EconomyWorld.advance` processes the events of an
agent step in time order (ties: the order they were scheduled) and leaves the units between events on straight legs
(:meth:`EconomyWorld.position` interpolates). The same events in the same order make episodes identical for a seed.

An SCV's harvest order (``Harvest_Gather`` on a mineral field, or on a geyser carrying the player's finished Refinery)
is a loop of trips (values in :mod:`envs.sim.economy.units`): walk to the resource (its edge), mine it when free (one
worker at a time: the others wait; at a taken mineral field the SCV first looks for an unclaimed field within
``BOUNCE_RANGE``), stand for the pause after mining minerals, walk to the CommandCenter's edge, deliver 5 minerals or 4
gas (the collected counts grow), walk back. The reported order is ``Harvest_Gather_SCV`` (295), ``Harvest_Return_SCV``
(296) while carrying. A build order walks to the site and, if the site is still free and the minerals are there, pays
and builds (the SCV stays until the structure is done; a Refinery's builder then harvests from it). Train orders pay
minerals and supply when queued (queues of 5) and spawn the unit at the structure's south edge when done.

Commands the game would reject (unaffordable, supply-blocked, an occupied or out-of-bounds site, a Barracks without a
finished SupplyDepot, a harvest target that is not a resource, a full queue, a unit that has not that ability) are
ignored, as the game answers them with an error and does nothing.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from envs.sim.economy import units as u
from envs.sim.economy.placement import Placement
from envs.sim.economy.units import UnitType
from envs.sim.geometry import MapConfig

PLAYER, NEUTRAL = 1, 16
"""Owners: the agent's player and the neutral resources."""
IDLE, MOVE, TO, WAIT, GATHER, PAUSE, RETURN, BUILD_TO, BUILD = range(9)
"""Phases of a mobile unit's head order (``Unit.phase``)."""


@dataclass(eq=False)
class Order:
    """A unit's order as the raw units report it: ability id, target point or unit tag, progress (training)."""

    ability_id: int
    point: tuple[float, float] | None = None
    target: int = 0
    build: UnitType | None = None
    """The structure a build order builds (its site: ``point``, or the geyser ``target``)."""


@dataclass(eq=False)
class Unit:
    """One unit; the fields a kind does not use keep their defaults."""

    tag: int
    kind: UnitType
    owner: int
    x: float
    y: float
    orders: list[Order] = field(default_factory=list)
    # motion: a straight leg from (x, y) at t0 to (x1, y1) at t1
    x1: float = 0.0
    y1: float = 0.0
    t0: float = 0.0
    t1: float = 0.0
    phase: int = IDLE
    version: int = 0
    """Increases with every (re)scheduled event: heap entries of older versions are stale."""
    resource: int = 0
    """SCV: tag of the mineral field or Refinery it harvests; the structure it builds while building."""
    cargo: int = 0
    cargo_gas: bool = False
    holding: bool = False
    """SCV: it occupies its resource now (mining)."""
    # structures
    done: bool = True
    started: float = 0.0
    """Loop construction (structure) or the head trainee (``queue``) started."""
    queue: list[UnitType] = field(default_factory=list)
    # resources
    contents: int = 0
    busy_until: float = 0.0
    refinery: int = 0
    """Geyser: tag of the Refinery on it (0: none)."""
    geyser: int = 0
    """Refinery: tag of its geyser (which holds the gas)."""


class EconomyWorld:
    """The units (by tag, in creation order: the raw units' order), the player's resources, and the event heap."""

    def __init__(self, config: MapConfig, next_tag: int = 1):
        self.config = config
        self.units: dict[int, Unit] = {}
        self.next_tag = next_tag
        self.loop = 0
        self.minerals = self.vespene = 0
        self.collected_minerals = self.collected_vespene = self.spent_minerals = 0
        self.marines_built = 0
        self.rally = 0
        """Tag of the mineral field the CommandCenter's trainees harvest (0: they stay idle)."""
        self.placement = Placement(config.map_size, config.playable)
        self._heap: list[tuple[float, int, int, int]] = []
        self._seq = 0

    # ------------------------------------------------------------------------------------------ state
    def new_tag(self) -> int:
        """A fresh unit tag, shaped like the game's (index << 18 | recycle count)."""
        tag = (self.next_tag << 18) | 1
        self.next_tag += 1
        return tag

    def add(self, kind: UnitType, owner: int, x: float, y: float, **fields) -> Unit:
        """Create a unit (structures and resources also take their footprint's cells)."""
        unit = Unit(self.new_tag(), kind, owner, x, y, x1=x, y1=y, **fields)
        self.units[unit.tag] = unit
        if kind.footprint != (0, 0) and kind is not u.REFINERY:  # a Refinery stands on its geyser's cells
            self.placement.mark(kind, x, y)
        return unit

    def of_kind(self, kind: UnitType) -> list[Unit]:
        return [v for v in self.units.values() if v.kind is kind]

    def position(self, unit: Unit, t: float | None = None) -> tuple[float, float]:
        """Where ``unit`` is at loop ``t`` (default: now), on its current leg."""
        t = self.loop if t is None else t
        if t >= unit.t1 or unit.t1 <= unit.t0:
            return unit.x1, unit.y1
        f = (t - unit.t0) / (unit.t1 - unit.t0)
        return unit.x + (unit.x1 - unit.x) * f, unit.y + (unit.y1 - unit.y) * f

    def food(self) -> tuple[int, int]:
        """``(food used, food cap)``: units alive and queued; 15 per finished CommandCenter, 8 per finished SupplyDepot,
        at most 200."""
        used = cap = 0
        for v in self.units.values():
            if v.owner != PLAYER:
                continue
            used += v.kind.supply if not v.kind.structure else 0
            used += sum(q.supply for q in v.queue)
            cap += v.kind.supply if v.kind.structure and v.done else 0
        return used, min(cap, u.SUPPLY_MAX)

    def idle_workers(self) -> int:
        return sum(1 for v in self.units.values() if v.kind is u.SCV and not v.orders)

    # ------------------------------------------------------------------------------------------ time
    def advance(self, loops: int) -> None:
        """Play ``loops`` game loops: every event up to the end of them, in time order."""
        end = self.loop + loops
        heap = self._heap
        while heap and heap[0][0] <= end:
            t, _, tag, version = heapq.heappop(heap)
            unit = self.units.get(tag)
            if unit is not None and unit.version == version:
                self._event(unit, t)
        self.loop = end

    def _schedule(self, unit: Unit, t: float) -> None:
        unit.version += 1
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, unit.tag, unit.version))

    def _walk(self, unit: Unit, t: float, x: float, y: float, phase: int) -> None:
        """Start a leg from where ``unit`` is at ``t`` to ``(x, y)``; its arrival is the next event."""
        px, py = self.position(unit, t)
        speed = u.MARINE_SPEED if unit.kind is u.MARINE else u.SCV_SPEED
        unit.x, unit.y, unit.x1, unit.y1, unit.t0 = px, py, x, y, t
        unit.t1 = t + math.hypot(x - px, y - py) / speed
        unit.phase = phase
        self._schedule(unit, unit.t1)

    def _edge(self, unit: Unit, t: float, target: Unit) -> tuple[float, float]:
        """The point where ``unit``, walking straight from where it is at ``t``, touches ``target``'s edge."""
        px, py = self.position(unit, t)
        dx, dy = px - target.x, py - target.y
        d = math.hypot(dx, dy)
        reach = target.kind.radius + unit.kind.radius
        if d <= reach:
            return px, py
        return target.x + dx * reach / d, target.y + dy * reach / d

    def _idle(self, unit: Unit, t: float) -> None:
        unit.x, unit.y = self.position(unit, t)
        unit.x1, unit.y1, unit.t0, unit.t1 = unit.x, unit.y, t, t
        unit.phase = IDLE
        unit.version += 1  # drop a pending event

    # ------------------------------------------------------------------------------------------ events
    def _event(self, unit: Unit, t: float) -> None:
        if unit.kind.structure:
            self._structure_event(unit, t)
            return
        phase = unit.phase
        if phase == MOVE:
            unit.orders.pop(0)
            self.start_next(unit, t)
        elif phase in (TO, WAIT):
            self._try_gather(unit, t)
        elif phase == GATHER:
            res = self.units.get(unit.resource)
            unit.holding = False
            source = self.units.get(res.geyser) if res is not None and res.kind is u.REFINERY else res
            if source is None:
                self._retarget(unit, t)
                return
            gas = res.kind is u.REFINERY
            unit.cargo = min(u.GAS_PER_TRIP if gas else u.MINERALS_PER_TRIP, source.contents)
            unit.cargo_gas = gas
            source.contents -= unit.cargo
            if not gas and source.contents <= 0:
                self._deplete(source)
            if gas:
                self._return(unit, t)
            else:
                unit.phase = PAUSE
                self._schedule(unit, t + u.MINERAL_PAUSE_LOOPS)
        elif phase == PAUSE:
            self._return(unit, t)
        elif phase == RETURN:
            self._deliver(unit)
            unit.orders[0].ability_id = u.HARVEST_GATHER_SCV
            self._go_harvest(unit, t)
        elif phase == BUILD_TO:
            self._place(unit, t)
        elif phase == BUILD:
            site = self.units.get(unit.resource)
            if site is not None:
                site.done = True
            unit.orders.pop(0)
            if site is not None and site.kind is u.REFINERY:
                unit.orders.insert(0, Order(u.HARVEST_GATHER_SCV, target=site.tag))
            self.start_next(unit, t)

    def _structure_event(self, unit: Unit, t: float) -> None:
        """A trainee is done: it appears at the structure's south edge; the next one starts."""
        kind = unit.queue.pop(0)
        trainee = self.add(kind, PLAYER, unit.x, unit.y - unit.kind.radius - kind.radius)
        trainee.t0 = trainee.t1 = t
        if kind is u.MARINE:
            self.marines_built += 1
        elif self.rally in self.units:
            trainee.orders.append(Order(u.HARVEST_GATHER_SCV, target=self.rally))
            self.start_next(trainee, t)
        unit.orders.pop(0)
        if unit.queue:
            unit.started = t
            self._schedule(unit, t + unit.queue[0].loops)

    def _try_gather(self, unit: Unit, t: float) -> None:
        """At the resource: mine it if free; at a taken mineral field look for an unclaimed one nearby; else wait."""
        res = self.units.get(unit.resource)
        if res is None:
            self._retarget(unit, t)
            return
        if res.busy_until <= t:
            unit.phase, unit.holding = GATHER, True
            res.busy_until = t + (u.GAS_LOOPS if res.kind is u.REFINERY else u.MINERAL_LOOPS)
            self._schedule(unit, res.busy_until)
            return
        if unit.phase == TO and res.kind is u.MINERAL_FIELD:
            claims: dict[int, int] = {}
            for v in self.units.values():
                if v.kind is u.SCV and v.orders and v.phase != BUILD and v is not unit:
                    claims[v.resource] = claims.get(v.resource, 0) + 1
            px, py = self.position(unit, t)
            near = [(claims.get(f.tag, 0), math.hypot(f.x - px, f.y - py), f.tag, f) for f in self.of_kind(u.MINERAL_FIELD)
                    if math.hypot(f.x - res.x, f.y - res.y) <= u.BOUNCE_RANGE]  # fmt: skip
            fewest = min(near, key=lambda c: c[:3])
            if fewest[0] < claims.get(res.tag, 0):
                other = fewest[3]
                unit.resource = unit.orders[0].target = other.tag
                self._walk(unit, t, *self._edge(unit, t, other), TO)
                return
        unit.phase = WAIT
        self._schedule(unit, res.busy_until)

    def _retarget(self, unit: Unit, t: float) -> None:
        """The harvested resource is gone (a mined-out field): the closest other mineral field, else idle."""
        fields = self.of_kind(u.MINERAL_FIELD)
        if not fields or unit.orders[0].target in (r.refinery for r in self.of_kind(u.VESPENE_GEYSER)):
            unit.orders.pop(0)
            self.start_next(unit, t)
            return
        px, py = self.position(unit, t)
        other = min(fields, key=lambda f: (math.hypot(f.x - px, f.y - py), f.tag))
        unit.resource = unit.orders[0].target = other.tag
        self._go_harvest(unit, t)

    def _deplete(self, mineral: Unit) -> None:
        """A mined-out mineral field disappears (its cells are free)."""
        del self.units[mineral.tag]
        self.placement.mark(mineral.kind, mineral.x, mineral.y, taken=False)

    def _return(self, unit: Unit, t: float) -> None:
        centres = [c for c in self.of_kind(u.COMMAND_CENTER) if c.done]
        if not centres:
            self._idle(unit, t)
            return
        px, py = self.position(unit, t)
        cc = min(centres, key=lambda c: math.hypot(c.x - px, c.y - py))
        unit.orders[0].ability_id = u.HARVEST_RETURN_SCV
        self._walk(unit, t, *self._edge(unit, t, cc), RETURN)

    def _deliver(self, unit: Unit) -> None:
        if unit.cargo_gas:
            self.vespene += unit.cargo
            self.collected_vespene += unit.cargo
        else:
            self.minerals += unit.cargo
            self.collected_minerals += unit.cargo
        unit.cargo = 0

    def _go_harvest(self, unit: Unit, t: float) -> None:
        res = self.units.get(unit.resource)
        if res is None:
            self._retarget(unit, t)
            return
        self._walk(unit, t, *self._edge(unit, t, res), TO)

    def _place(self, unit: Unit, t: float) -> None:
        """At the site: pay and start the structure if it still fits (else the order is dropped)."""
        order = unit.orders.pop(0)
        kind = order.build
        site = self._site(kind, order)
        if site is None or self.minerals < kind.minerals:
            self.start_next(unit, t)
            return
        x, y, geyser = site
        self.minerals -= kind.minerals
        self.spent_minerals += kind.minerals
        structure = self.add(kind, PLAYER, x, y, done=False, started=t)
        if geyser is not None:
            geyser.refinery, structure.geyser = structure.tag, geyser.tag
        unit.orders.insert(0, order)
        unit.resource, unit.phase = structure.tag, BUILD
        self._schedule(unit, t + kind.loops)

    def _site(self, kind: UnitType, order: Order) -> tuple[float, float, Unit | None] | None:
        """Where the build order's structure would stand, if the site is free: ``(x, y, geyser or None)``."""
        if kind is u.REFINERY:
            geyser = self.units.get(order.target)
            ok = geyser is not None and geyser.kind is u.VESPENE_GEYSER and not geyser.refinery
            return (geyser.x, geyser.y, geyser) if ok else None
        x, y = order.point
        return (x, y, None) if self.placement.fits(kind, x, y) else None

    # ------------------------------------------------------------------------------------------ orders
    def start_next(self, unit: Unit, t: float) -> None:
        """Start the head of ``unit``'s orders (idle if none)."""
        if not unit.orders:
            self._idle(unit, t)
            return
        order = unit.orders[0]
        if order.ability_id in (u.HARVEST_GATHER_SCV, u.HARVEST_RETURN_SCV):
            unit.resource = order.target
            if unit.cargo:
                self._return(unit, t)
            else:
                order.ability_id = u.HARVEST_GATHER_SCV
                self._go_harvest(unit, t)
        elif order.build is not None:
            target = self.units.get(order.target) if order.point is None else None
            point = (target.x, target.y) if target is not None else order.point
            if point is None:
                unit.orders.pop(0)
                self.start_next(unit, t)
                return
            dest = Unit(0, order.build, PLAYER, *point)
            self._walk(unit, t, *self._edge(unit, t, dest), BUILD_TO)
        else:
            target = self.units.get(order.target)
            point = (target.x, target.y) if order.point is None and target is not None else order.point
            if point is None:
                unit.orders.pop(0)
                self.start_next(unit, t)
                return
            self._walk(unit, t, *point, MOVE)

    def _interrupt(self, unit: Unit, t: float) -> None:
        """A unit's current order is replaced: it leaves its resource (mining stops) or construction (it halts)."""
        if unit.holding:
            res = self.units.get(unit.resource)
            if res is not None:
                res.busy_until = t
            unit.holding = False
        unit.orders.clear()
        self._idle(unit, t)

    def command(self, tags, ability_id: int, point: tuple[float, float] | None, target_tag: int, queued: bool) -> None:
        """Execute a raw unit command for the player's units among ``tags`` (:func:`envs.sim.economy.commands.execute`)."""
        execute(self, tags, ability_id, point, int(target_tag), bool(queued))


from envs.sim.economy.commands import execute  # noqa: E402  (commands.py types its world argument with this module)
