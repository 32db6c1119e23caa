"""Where structures may stand on the economy maps: the placement grid of footprints (numpy only).

The game places a structure on whole cells: its footprint (``UnitType.footprint``, ``(w, h)`` cells) centred on a point
of the placement grid (an integer coordinate for an even side, a half-integer for an odd one), on free pathable ground.
A build point the agent gives is snapped to the nearest such centre (:func:`snap`); the footprint must then lie inside
the map's playable area (region 1 "Playable Space" of the maps, set by ``RegionPlayableMapSet``) and cover no cell of
another structure or resource (:class:`Placement`). Units do not block placement (in the game they make way).
"""

from __future__ import annotations

import math

import numpy as np

from envs.sim.economy.units import UnitType


def snap(kind: UnitType, x: float, y: float) -> tuple[float, float]:
    """The footprint centre nearest to ``(x, y)`` for a structure of ``kind``."""
    w, h = kind.footprint
    return (
        float(math.floor(x + 0.5)) if w % 2 == 0 else math.floor(x) + 0.5,
        float(math.floor(y + 0.5)) if h % 2 == 0 else math.floor(y) + 0.5,
    )


class Placement:
    """The cells covered by footprints, ``(map_size, map_size)`` bools indexed ``[y, x]`` (cell ``x`` spans
    ``x .. x + 1``), and the playable area's cells."""

    def __init__(self, map_size: int, playable: tuple[float, float, float, float]):
        self.taken = np.zeros((map_size, map_size), bool)
        x0, y0, x1, y1 = playable
        self._bounds = (math.ceil(x0), math.ceil(y0), math.floor(x1), math.floor(y1))

    @staticmethod
    def cells(kind: UnitType, x: float, y: float) -> tuple[int, int, int, int]:
        """``(col0, row0, col1, row1)``, the half-open cell range covered by ``kind``'s footprint centred at ``(x, y)``."""
        w, h = kind.footprint
        c0, r0 = int(math.floor(x - w / 2 + 1e-9)), int(math.floor(y - h / 2 + 1e-9))
        return c0, r0, c0 + w, r0 + h

    def fits(self, kind: UnitType, x: float, y: float) -> bool:
        """Whether ``kind`` may be placed centred at ``(x, y)`` (a snapped point): inside the playable area, on free
        cells."""
        c0, r0, c1, r1 = self.cells(kind, x, y)
        bx0, by0, bx1, by1 = self._bounds
        if c0 < bx0 or r0 < by0 or c1 > bx1 or r1 > by1:
            return False
        return not self.taken[r0:r1, c0:c1].any()

    def mark(self, kind: UnitType, x: float, y: float, taken: bool = True) -> None:
        """Mark (or free) the cells of ``kind``'s footprint at ``(x, y)``, clipped to the map."""
        c0, r0, c1, r1 = self.cells(kind, x, y)
        size = self.taken.shape[0]
        self.taken[max(r0, 0) : min(r1, size), max(c0, 0) : min(c1, size)] = taken
