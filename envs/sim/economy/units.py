"""The economy maps' units and mining constants, from the game's data (numpy only, no pysc2).

Times are in game loops at "normal" speed (16 per game second, :data:`envs.maps.GAME_LOOPS_PER_SECOND`; the game's data
and the maps' timers count game seconds). Sources:

- costs, build / train times (the data's ``time`` is in game loops), supply, hit points, radii, speed: BurnySc2/
  sc2-techtree ``data/data_readable.json`` (``Unit`` entries 18 CommandCenter, 19 SupplyDepot, 20 Refinery, 21 Barracks,
  45 SCV, 48 Marine; extracted from the game's ``UnitData``); the SCV's build abilities there: 319 SupplyDepot, 320
  Refinery, 321 Barracks with the requirement ``building 19`` (a SupplyDepot);
- footprints (the cells a structure or resource covers, for placement): the game's ``Footprint`` of each unit
  (``Footprint5x5...``, ``Footprint3x3...``, ``Footprint2x2...``, ``FootprintMineralsRounded`` 2 x 1,
  ``FootprintGeyserRounded`` 3 x 3: BurnySc2/sc2-techtree ``extract/output/units.json``);
- the mineral field's radius 0.75: ``MineralFieldDefault`` in BurnySc2/sc2-techtree ``extract/output/units.json``; the
  geyser's radius is taken equal to its Refinery's (1.6875, an assumption);
- resources per field / geyser and mining: Liquipedia "Resources" (liquipedia.net/starcraft2/Resources): 5 minerals
  per trip, a worker occupies a mineral field for 2.786 game s, then pauses 0.5 game s before returning (the next
  worker can start during the pause); a MineralField holds 1800 minerals (the 900 ones are ``MineralField750``, not on
  these maps); 4 gas per trip, a geyser holds 2250 gas; the time a worker spends in the refinery, 1.981 game s, is the
  game's vespene harvest time (``SCVHarvest``; measured saturation ~114 gas per game minute and geyser with 3 workers,
  PiousFlea, TL.net 2010, is 4 gas every ~2.1 s);
- supply: 15 from the CommandCenter, 8 per SupplyDepot (the data's negative ``supply``), at most 200 (Liquipedia
  "Supply"); production queues hold 5 orders (the game's ``que5`` queues of CommandCenter and Barracks).
"""

from __future__ import annotations

from dataclasses import dataclass

from envs.maps import GAME_LOOPS_PER_SECOND

_S = GAME_LOOPS_PER_SECOND


@dataclass(frozen=True)
class UnitType:
    """One unit type of the economy maps."""

    type_id: int
    """The game's unit type id (pysc2's ``units.Terran`` / ``units.Neutral``)."""
    radius: float
    health: float
    minerals: int = 0
    """Cost in minerals."""
    loops: float = 0.0
    """Build or train time in game loops."""
    supply: int = 0
    """Supply used (units) or provided (structures)."""
    footprint: tuple[int, int] = (0, 0)
    """Cells covered ``(width, height)``; ``(0, 0)`` for units that do not block placement."""
    structure: bool = False


SCV = UnitType(45, radius=0.375, health=45, minerals=50, loops=272, supply=1)
MARINE = UnitType(48, radius=0.375, health=45, minerals=50, loops=400, supply=1)
COMMAND_CENTER = UnitType(18, radius=2.75, health=1500, minerals=400, loops=1600, supply=15, footprint=(5, 5),
                          structure=True)  # fmt: skip
SUPPLY_DEPOT = UnitType(
    19, radius=1.25, health=400, minerals=100, loops=480, supply=8, footprint=(2, 2), structure=True
)
REFINERY = UnitType(20, radius=1.6875, health=500, minerals=75, loops=480, footprint=(3, 3), structure=True)
BARRACKS = UnitType(21, radius=1.8125, health=1000, minerals=150, loops=1040, footprint=(3, 3), structure=True)
MINERAL_FIELD = UnitType(341, radius=0.75, health=0, footprint=(2, 1))
VESPENE_GEYSER = UnitType(342, radius=1.6875, health=0, footprint=(3, 3))
UNIT_TYPES: dict[int, UnitType] = {
    t.type_id: t for t in (SCV, MARINE, COMMAND_CENTER, SUPPLY_DEPOT, REFINERY, BARRACKS, MINERAL_FIELD, VESPENE_GEYSER)
}
"""Every unit type of the economy maps, by type id."""

SCV_SPEED = 2.8125 / _S
"""World units per game loop (the SCV's ``speed`` 2.8125 per game second)."""
MARINE_SPEED = 2.25 / _S
MINERAL_CONTENTS, GEYSER_CONTENTS = 1800, 2250
MINERALS_PER_TRIP, GAS_PER_TRIP = 5, 4
MINERAL_LOOPS = 2.786 * _S
"""Game loops a worker occupies a mineral field per trip."""
MINERAL_PAUSE_LOOPS = 0.5 * _S
"""Game loops a worker stands at the field after mining, the field already free, before it returns."""
GAS_LOOPS = 1.981 * _S
"""Game loops a worker spends in the refinery per trip (one worker at a time)."""
QUEUE_SIZE = 5
SUPPLY_MAX = 200
BOUNCE_RANGE = 6.0
"""A worker that finds its mineral field taken moves on to the field within this distance that the fewest other workers
harvest (the closest of them), if fewer than its own (the game's workers look for a free field nearby; the range and
the rule are our assumption)."""

# The raw interface's ability ids (those the agent sends, and those the raw units report in their orders).
HARVEST_GATHER, HARVEST_GATHER_SCV, HARVEST_RETURN_SCV = 3666, 295, 296
"""``Harvest_Gather_unit`` (general id: the command), the SCV's own gather / return ids (the orders reported)."""
BUILD_SUPPLY_DEPOT, BUILD_REFINERY, BUILD_BARRACKS = 319, 320, 321
TRAIN_SCV, TRAIN_MARINE = 524, 560
BUILDS: dict[int, UnitType] = {BUILD_SUPPLY_DEPOT: SUPPLY_DEPOT, BUILD_REFINERY: REFINERY, BUILD_BARRACKS: BARRACKS}
"""The SCV's build abilities and what they build."""
TRAINS: dict[int, tuple[UnitType, UnitType]] = {TRAIN_SCV: (COMMAND_CENTER, SCV), TRAIN_MARINE: (BARRACKS, MARINE)}
"""The train abilities: ``(the structure that trains, the unit trained)``."""
REQUIRES: dict[int, UnitType] = {BARRACKS.type_id: SUPPLY_DEPOT}
"""Structures that need a finished structure of another type first (the Barracks: a SupplyDepot)."""
