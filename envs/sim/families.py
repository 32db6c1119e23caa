"""The simulator's map families, by ``rules.kind``: the world, observation builders and view each family plays with.

Each family has a folder with the same files for the same concepts: ``world.py`` (its units and their orders;
``World.command`` executes a raw unit command), ``rules.py`` (its maps), ``protocol.py`` (the protocol path's
builder, on :mod:`envs.sim.protocol_base`) and ``direct.py`` (the direct path's builder, on
:mod:`envs.sim.direct_base`); the combat family adds its tick (``tick.py``), unit statistics (``units.py``) and fog
of war (``fog.py``). Which map belongs to which family: :data:`envs.sim.catalog.RULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envs.sim.combat.direct import CombatDirectBuilder
from envs.sim.combat.fog import Fog
from envs.sim.combat.protocol import CombatProtocolBuilder
from envs.sim.economy.direct import EconomyDirectBuilder
from envs.sim.economy.protocol import EconomyProtocolBuilder
from envs.sim.pickups.direct import PickupsDirectBuilder
from envs.sim.pickups.protocol import PickupsProtocolBuilder


class NoView:
    """The view of a map without fog: the builders take no view argument."""

    def reset(self) -> None:
        pass

    def __call__(self, world) -> tuple:
        return ()


@dataclass(frozen=True)
class Family:
    """How the simulator plays one kind of map: its observation builders (protocol path ``(rules, minimap)``, direct
    path ``(rules, minimap, world_to_raw)``; both ``reset()`` and ``build(world, game_loop, score, *view)``) and the
    view passed to them (``(rules, minimap)``; ``reset()``, and called on the world: the builders' view arguments)."""

    protocol: Callable[..., Any]
    direct: Callable[..., Any]
    view: Callable[..., Any]
    selects_new_units: bool = False
    """The maps' scripts select the player's units they create (``UnitGroupSelect(gv_marines, 1, true)``: the combat
    maps at start and at each wave of marines; the pickups maps never), which the feature-layer interface's selection
    follows (:mod:`envs.sim.selection`)."""


FAMILIES: dict[str, Family] = {
    "pickups": Family(
        protocol=PickupsProtocolBuilder, direct=PickupsDirectBuilder, view=lambda rules, minimap: NoView(),
    ),
    "combat": Family(
        protocol=CombatProtocolBuilder, direct=CombatDirectBuilder,
        view=lambda rules, minimap: Fog(rules.map_config.map_size, minimap, rules.fog), selects_new_units=True,
    ),
    "economy": Family(  # no fog (the maps reveal their playable space); their scripts select no unit
        protocol=EconomyProtocolBuilder, direct=EconomyDirectBuilder, view=lambda rules, minimap: NoView(),
        selects_new_units=False,
    ),
}  # fmt: skip
"""Simulator families by ``rules.kind``."""
