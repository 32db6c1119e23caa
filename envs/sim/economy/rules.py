"""Rules of the economy minigames (CollectMineralsAndGas, BuildMarines), transcribed from the maps (numpy only, no
pysc2: :data:`envs.sim.catalog.RULES` lists them for the registry).

pysc2-evolved ships DeepMind's ``.SC2Map`` files (``pysc2_evolved/maps/mini_games/``, MPQ archives read with
``mpyq``); their ``Objects`` place the resources and the start point, their ``MapScript.galaxy`` triggers do the rest:

- **Resources** (``Objects``, ``ObjectUnit`` entries): CollectMineralsAndGas: 16 ``MineralField``, x 23..25 and 41..43
  (a column of 8 on each side of the start), and 4 ``VespeneGeyser`` at (26.5, 20.5), (26.5, 34.5), (39.5, 20.5),
  (39.5, 34.5); BuildMarines: the 8 left fields only, no geyser. No ``Resources`` value is set at map init: the unit
  types' defaults, 1800 minerals and 2250 gas (:mod:`envs.sim.economy.units`; the unused chat trigger
  ``gt_ResetMap`` would set 1500 / 2000).
- **Start** (``gt_Init``; BuildMarines: ``gf_SpawnUnits``): 50 minerals (``PlayerModifyPropertyInt(..., 50)``); a
  ``CommandCenter`` at point 583493956 "Command Center" (29.8251, 28.0083); 12 ``SCV`` at that point's offsets
  ``(4.5 d, 2.5)``, ``(3.5 d, 2.5)``, ``(4.5 d, 1.5)``, ... ``(3.5 d, -2.5)`` with ``d = +-1`` (``RandomInt(1, 2)``).
  BuildMarines also orders every SCV to harvest (``SCVHarvest``) the field 479769973 at (23, 26.5) and rallies the
  CommandCenter to it (``Rally``): its new SCVs harvest that field too. On CollectMineralsAndGas the SCVs stand idle.
- **Score** (``gt_ScoreUpdatesandVictory``, every 0.0625 game s = every game loop): CollectMineralsAndGas: the
  curriculum score is ``MineralsCollected + VespeneCollected`` (the starting 50 minerals are not collected);
  BuildMarines: +1 per Marine created (``gt_MarineCreated``, ``TriggerAddEventUnitCreated``).
- **Timer** (``TimerStart``): 420 game s (CollectMineralsAndGas), 900 (BuildMarines, ``gv_episodeTimeSec``); when it
  runs out the map pauses the units (``gt_EpisodeTimer``); nothing else ends an episode.
- **Playable space** (``RegionPlayableMapSet(RegionFromId(1))``, ``Regions``): x 19.94..45.94, y 19.00..37.00 on a
  64 x 64 map, taken as x 20..46, y 19..37 (whole cells).

Approximations (not in the maps' files): the CommandCenter created at the script's point stands on the nearest point
of its 5 x 5 placement grid, (29.5, 28.5) (the game finds the nearest valid placement itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from envs.sim.economy import units as u
from envs.sim.economy.placement import snap
from envs.sim.economy.world import NEUTRAL, PLAYER, EconomyWorld, Order
from envs.sim.geometry import MapConfig

START = (29.8251, 28.0083)
"""``PointFromId(583493956)``, "Command Center" in ``Objects``."""
SCV_OFFSETS = ((4.5, 2.5), (3.5, 2.5), (4.5, 1.5), (3.5, 1.5), (4.5, 0.5), (3.5, 0.5), (4.5, -0.5), (3.5, -0.5),
               (4.5, -1.5), (3.5, -1.5), (4.5, -2.5), (3.5, -2.5))  # fmt: skip
"""The 12 SCVs' offsets from :data:`START` (x times the side ``d``), in the script's creation order."""
LEFT_FIELDS = ((23, 28.5), (24, 29.5), (23, 26.5), (25, 22.5), (25, 32.5), (24, 23.5), (24, 31.5), (24, 25.5))
"""The left column's ``MineralField`` positions, in ``Objects`` order (both maps)."""
RIGHT_FIELDS = ((41, 22.5), (42, 25.5), (42, 23.5), (41, 32.5), (43, 26.5), (43, 28.5), (42, 29.5), (42, 31.5))
"""CollectMineralsAndGas' right column (in its ``Objects`` order these are interleaved with the left ones)."""
GEYSERS = ((39.5, 20.5), (26.5, 34.5), (39.5, 34.5), (26.5, 20.5))
RALLY_FIELD = (23, 26.5)
"""BuildMarines' field 479769973, which its SCVs and the CommandCenter's rally target."""


@dataclass(frozen=True)
class EconomyRules:
    """One economy minigame."""

    name: str
    fields: tuple[tuple[float, float], ...]
    geysers: tuple[tuple[float, float], ...]
    score: str
    """``"collected"`` (minerals + gas collected) or ``"marines"`` (marines created)."""
    harvest_at_start: bool
    """The SCVs start harvesting :data:`RALLY_FIELD`, and the CommandCenter rallies to it."""

    kind: ClassVar[str] = "economy"
    """Which simulator family plays it (:data:`envs.sim.families.FAMILIES`)."""
    map_config: ClassVar[MapConfig] = MapConfig(playable=(20.0, 19.0, 46.0, 37.0))

    def new_world(self, next_tag: int) -> EconomyWorld:
        return EconomyWorld(self.map_config, next_tag=next_tag)

    def finished(self, world: EconomyWorld) -> bool:
        """Only the timer ends these maps."""
        return False

    def reset(self, world: EconomyWorld, rng: np.random.Generator) -> None:
        """The map's start: resources, then the CommandCenter and the SCVs on a random side."""
        for x, y in self.fields:
            world.add(u.MINERAL_FIELD, NEUTRAL, float(x), float(y), contents=u.MINERAL_CONTENTS)
        for x, y in self.geysers:
            world.add(u.VESPENE_GEYSER, NEUTRAL, float(x), float(y), contents=u.GEYSER_CONTENTS)
        world.minerals = 50
        world.add(u.COMMAND_CENTER, PLAYER, *snap(u.COMMAND_CENTER, *START))
        side = 1 if rng.integers(1, 3) == 1 else -1
        scvs = [world.add(u.SCV, PLAYER, START[0] + dx * side, START[1] + dy) for dx, dy in SCV_OFFSETS]
        if self.harvest_at_start:
            rally = next(f for f in world.of_kind(u.MINERAL_FIELD) if (f.x, f.y) == RALLY_FIELD)
            world.rally = rally.tag
            for scv in scvs:
                scv.orders.append(Order(u.HARVEST_GATHER_SCV, target=rally.tag))
                world.start_next(scv, 0)

    def score_of(self, world: EconomyWorld) -> int:
        """The curriculum score of ``world`` now."""
        if self.score == "marines":
            return world.marines_built
        return world.collected_minerals + world.collected_vespene

    def step(self, world: EconomyWorld, loops: int, rng: np.random.Generator) -> int:
        """Play ``loops`` game loops; returns the change of the curriculum score (the reward)."""
        before = self.score_of(world)
        world.advance(loops)
        return self.score_of(world) - before


ECONOMY_RULES: tuple[EconomyRules, ...] = (
    EconomyRules("CollectMineralsAndGas", fields=LEFT_FIELDS + RIGHT_FIELDS, geysers=GEYSERS, score="collected",
                 harvest_at_start=False),
    EconomyRules("BuildMarines", fields=LEFT_FIELDS, geysers=(), score="marines", harvest_at_start=True),
)  # fmt: skip
"""The simulated economy minigames (:data:`envs.sim.catalog.RULES` lists them beside the other families')."""
