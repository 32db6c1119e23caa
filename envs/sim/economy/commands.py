"""The raw unit commands of the economy maps, checked as the game checks them and executed on an
:class:`~envs.sim.economy.world.EconomyWorld`.

=====================================  ==============================================================================
command (raw ability id)               executed when / as
=====================================  ==============================================================================
``Train_SCV`` 524, ``Train_Marine``    on each finished CommandCenter / Barracks among the units: the queue has room
560                                    (5), the minerals and the supply are there (both paid when queued)
``Build_SupplyDepot`` 319,             by the first SCV among the units: a Barracks needs a finished SupplyDepot; the
``Build_Barracks`` 321 (a point),      minerals are there (paid when the SCV starts building); the footprint, snapped
``Build_Refinery`` 320 (a geyser)      to the placement grid, fits (a Refinery: a geyser without one)
``Harvest_Gather`` 3666 / 295,         SCVs on a mineral field, on the player's finished Refinery or the geyser under
``Smart`` 1 on a resource              it: harvest it
``Move`` / ``Smart`` / ``Attack``      SCVs and marines: walk there (straight; on a unit: to where it stands)
``Stop`` / ``HoldPosition``            SCVs and marines: drop their orders
=====================================  ==============================================================================

``queued`` appends the order to the unit's queue (it starts when the ones before it end; a harvest never ends); else the
order replaces the queue: a mining SCV leaves its resource, a building SCV leaves its structure unfinished (in the game
the construction halts until an SCV resumes it; these maps' action sets cannot resume it). Anything else is ignored, as
the game rejects it with an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from envs.sim.abilities import ATTACK_ABILITY, HOLD_ABILITY, MOVE_ABILITY, SMART, STOP_ABILITY
from envs.sim.economy import units as u
from envs.sim.economy.placement import snap

if TYPE_CHECKING:
    from envs.sim.economy.world import EconomyWorld, Order, Unit

_MOBILE = (u.SCV, u.MARINE)


def execute(world: EconomyWorld, tags, ability: int, point: tuple[float, float] | None, target: int,
            queued: bool) -> None:  # fmt: skip
    """Execute one raw unit command for the player's units among ``tags`` (see the module docstring)."""
    from envs.sim.economy.world import PLAYER, Order

    t = world.loop
    own = sorted(tag for tag in tags if tag in world.units and world.units[tag].owner == PLAYER)
    units = [world.units[tag] for tag in own]
    if ability in u.TRAINS:
        producer, trainee = u.TRAINS[ability]
        for structure in units:
            if structure.kind is producer and structure.done:
                _train(world, structure, trainee, ability, t)
        return
    mobile = [v for v in units if v.kind in _MOBILE]
    scvs = [v for v in mobile if v.kind is u.SCV]
    if ability in u.BUILDS:
        order = _build_order(world, u.BUILDS[ability], ability, point, target)
        if order is not None and scvs:
            _assign(world, scvs[0], order, queued, t)
        return
    resource = _harvested(world, target) if point is None else None
    if ability in (u.HARVEST_GATHER, u.HARVEST_GATHER_SCV) or (ability == SMART and resource):
        if resource:
            for scv in scvs:
                _assign(world, scv, Order(u.HARVEST_GATHER_SCV, target=resource), queued, t)
        return
    if ability in (SMART, MOVE_ABILITY, ATTACK_ABILITY):
        if point is None and target not in world.units:
            return
        for unit in mobile:
            order = Order(ability, point=point) if point is not None else Order(ability, target=target)
            _assign(world, unit, order, queued, t)
    elif ability in (STOP_ABILITY, HOLD_ABILITY):
        for unit in mobile:
            world._interrupt(unit, t)


def _harvested(world: EconomyWorld, target: int) -> int:
    """The tag of the resource a harvest command on ``target`` mines: a mineral field, or the player's finished
    Refinery (named directly or by the geyser it stands on); 0 if ``target`` is neither."""
    unit = world.units.get(target)
    if unit is None:
        return 0
    if unit.kind is u.MINERAL_FIELD:
        return unit.tag
    if unit.kind is u.VESPENE_GEYSER:
        unit = world.units.get(unit.refinery)
        if unit is None:
            return 0
    return unit.tag if unit.kind is u.REFINERY and unit.done else 0


def _build_order(world: EconomyWorld, kind: u.UnitType, ability: int, point, target: int) -> Order | None:
    """The build order if the game would accept the command now: requirement, minerals, a free site."""
    from envs.sim.economy.world import PLAYER, Order

    need = u.REQUIRES.get(kind.type_id)
    if need is not None and not any(v.done and v.owner == PLAYER for v in world.of_kind(need)):
        return None
    if world.minerals < kind.minerals:
        return None
    if kind is u.REFINERY:
        geyser = world.units.get(target) if point is None else None
        if geyser is None or geyser.kind is not u.VESPENE_GEYSER or geyser.refinery:
            return None
        return Order(ability, target=geyser.tag, build=kind)
    if point is None:
        return None
    x, y = snap(kind, *point)
    return Order(ability, point=(x, y), build=kind) if world.placement.fits(kind, x, y) else None


def _train(world: EconomyWorld, structure: Unit, trainee: u.UnitType, ability: int, t: int) -> None:
    from envs.sim.economy.world import Order

    used, cap = world.food()
    if len(structure.queue) >= u.QUEUE_SIZE or world.minerals < trainee.minerals or used + trainee.supply > cap:
        return
    world.minerals -= trainee.minerals
    world.spent_minerals += trainee.minerals
    structure.queue.append(trainee)
    structure.orders.append(Order(ability))
    if len(structure.queue) == 1:
        structure.started = t
        world._schedule(structure, t + trainee.loops)


def _assign(world: EconomyWorld, unit: Unit, order: Order, queued: bool, t: int) -> None:
    """Give ``unit`` the ``order``: appended (``queued``, behind existing orders) or replacing its orders."""
    if queued and unit.orders:
        unit.orders.append(order)
        return
    world._interrupt(unit, t)
    unit.orders.append(order)
    world.start_next(unit, t)
