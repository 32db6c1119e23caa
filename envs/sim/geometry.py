"""Geometry of the simulated maps, shared by every family: regions (where units spawn) and a map's size and playable
area, read off the ``.SC2Map`` files shipped with pysc2-evolved."""

from __future__ import annotations

from dataclasses import dataclass

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
    """A map's geometry, and the marine's constants of the pickups family (the combat family reads its units' from
    :mod:`envs.sim.combat.units`)."""

    map_size: int = 64
    """Map side in world units (every simulated map is 64 x 64)."""
    playable: tuple[float, float, float, float] = (22.0, 20.0, 44.0, 36.0)
    """``(x0, y0, x1, y1)`` of region 1 "Playable Space" (units stay in it; the default: the pickups maps')."""
    marine_speed: float = 2.25 / 16
    """World units per game loop: the marine's 2.25 per game second (3.15 per real second at "faster")."""
    marine_radius: float = 0.375
    marine_health: int = 45
