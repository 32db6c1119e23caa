"""The simulator's feature screen: pysc2's ``observation.feature_layer_data.renders``, drawn from an observation's
units for the camera's view (:class:`~envs.sim.camera.Camera`).

Every unit is drawn as a filled disc of its footprint radius (``Unit.radius``): the screen pixels whose centre
(pysc2's ``PixelToCoord``: pixel + 0.5, through the camera's transform) lies within it. Enemy and neutral units are
drawn first, the player's units over them (as the minimap of :mod:`envs.sim.protocol_base` does). Layers written, each
``(H, W)`` at the screen resolution (pysc2's ``SCREEN_FEATURES`` names; the others stay unset, which pysc2 reads as
zeros, as for a layer a game version lacks):

- ``player_id`` (owner), ``player_relative`` (alliance: 1 self, 3 neutral, 4 enemy), ``unit_type``, ``selected``
  (1 under the selected units), ``unit_hit_points`` (integer health), ``unit_hit_points_ratio``
  (``health / health_max * 255``, as pysc2's ``FeatureUnit.health_ratio``): the top unit's values;
- ``unit_density``: how many discs cover the pixel; ``unit_density_aa``: the covered fraction of the pixel (4 x 4
  samples) times 16, summed over units, at most 255 (pysc2's documentation: "a maximum of 16 per unit per pixel");
- ``active``: 1 under every unit (all units of these maps are finished, living units: our reading of the layer);
- ``visibility_map``: the minimap's visibility (the simulator's fog grid, :mod:`envs.sim.combat.fog`) at the
  pixel's centre; ``pathable``: 1 where the pixel's centre lies in a pathing cell (1 x 1 world units, the game's grid)
  of the playable area (the maps are open ground).
"""

from __future__ import annotations

import numpy as np

from envs.sim.camera import Camera
from envs.sim.geometry import MapConfig
from envs.sim.observed_units import ObservedUnits

SAMPLES = 4
"""Samples per pixel side for ``unit_density_aa``."""
AA_PER_UNIT = 16
"""``unit_density_aa`` of a pixel a unit covers entirely."""
BITS = {"unit_type": 16, "unit_hit_points": 16}
"""Layers wider than 8 bits (unit types reach 1900+, hit points 1600 in pysc2's scales)."""


class ScreenRenderer:
    """Draws the screen layers of one env (see the module docstring)."""

    def __init__(self, *, camera: Camera, config: MapConfig):
        self._camera = camera
        self._config = config
        self._grid_key: tuple | None = None
        self._grid: tuple[np.ndarray, np.ndarray, np.ndarray] = ()
        """For the camera's centre: pathable ``(H, W)``, and the minimap ``(rows (H,), cols (W,))`` under the pixels."""

    def _static(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._grid_key != self._camera.centre:
            xs, ys = self._camera.pixel_centres()
            x0, y0, x1, y1 = self._config.playable
            cells_x, cells_y = np.floor(xs), np.floor(ys)
            pathable = ((cells_y >= y0) & (cells_y < y1))[:, None] & ((cells_x >= x0) & (cells_x < x1))[None, :]
            cols, _ = self._camera.minimap_cells(np.stack([xs, np.full_like(xs, ys[0])], axis=-1))
            _, rows = self._camera.minimap_cells(np.stack([np.full_like(ys, xs[0]), ys], axis=-1))
            self._grid = (pathable.astype(np.uint8), rows, cols)
            self._grid_key = self._camera.centre
        return self._grid

    def layers(self, units: ObservedUnits, selected: np.ndarray, visibility: np.ndarray) -> dict[str, np.ndarray]:
        """The screen layers ``{name: (H, W) array}`` of ``units`` (``selected (K,)`` bool; ``visibility``: the minimap
        visibility plane ``(h, w)``)."""
        xs, ys = self._camera.pixel_centres()
        w, h = self._camera.screen_size
        pathable, rows, cols = self._static()
        out = {name: np.zeros((h, w), np.int64) for name in (
            "player_id", "player_relative", "unit_type", "selected", "unit_hit_points", "unit_hit_points_ratio",
            "unit_density", "active")}  # fmt: skip
        aa = np.zeros((h, w), np.float64)
        px = self._camera.pixel_size
        offsets = ((np.arange(SAMPLES) + 0.5) / SAMPLES - 0.5) * px
        ratio = np.where(units.health_max > 0, units.health / np.maximum(units.health_max, 1e-9) * 255, 0)
        values = {
            "player_id": units.owner, "player_relative": units.alliance, "unit_type": units.unit_type,
            "selected": selected.astype(np.int64), "unit_hit_points": units.health.astype(np.int64),
            "unit_hit_points_ratio": ratio.astype(np.int64), "active": np.ones(len(units), np.int64),
        }  # fmt: skip
        order = np.concatenate([np.flatnonzero(~units.own), np.flatnonzero(units.own)])
        for k in order.tolist():
            (x, y), r = units.pos[k], float(units.radius[k])
            reach = r + px / 2
            c0, c1 = np.searchsorted(xs, x - reach), np.searchsorted(xs, x + reach, side="right")
            r0, r1 = np.searchsorted(-ys, -(y + reach)), np.searchsorted(-ys, -(y - reach), side="right")
            if c0 >= c1 or r0 >= r1:
                continue
            dx, dy = xs[c0:c1] - x, ys[r0:r1] - y
            disc = dy[:, None] ** 2 + dx[None, :] ** 2 <= r * r
            sx, sy = (dx[:, None] + offsets) ** 2, (dy[:, None] + offsets) ** 2  # (C, S), (R, S)
            covered = (sy[:, None, :, None] + sx[None, :, None, :] <= r * r).mean(axis=(2, 3))
            aa[r0:r1, c0:c1] += covered * AA_PER_UNIT
            out["unit_density"][r0:r1, c0:c1] += disc
            for name, value in values.items():
                out[name][r0:r1, c0:c1][disc] = value[k]
        out["unit_density_aa"] = np.minimum(np.rint(aa), 255).astype(np.int64)
        out["visibility_map"] = visibility[rows[:, None], cols[None, :]].astype(np.int64)
        out["pathable"] = pathable.astype(np.int64)
        return out

    def render(self, renders, units: ObservedUnits, selected: np.ndarray, visibility: np.ndarray) -> None:
        """Write :meth:`layers` into ``renders`` (an ``ImageData`` per layer, as the game sends them)."""
        w, h = self._camera.screen_size
        for name, layer in self.layers(units, selected, visibility).items():
            bits = BITS.get(name, 8)
            plane = getattr(renders, name)
            plane.bits_per_pixel, plane.size.x, plane.size.y = bits, w, h
            plane.data = layer.astype("<u2" if bits == 16 else np.uint8).tobytes()
