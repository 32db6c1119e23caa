"""The feature-layer camera of the simulated minigames: where the screen looks, and pysc2's own world <-> screen and
world <-> minimap pixel transforms for it.

From the maps' ``MapScript.galaxy`` (trigger ``gt_Init``, read with ``mpyq`` from the ``.SC2Map`` files pysc2-evolved
ships, as :mod:`envs.sim.pickups.rules` and :mod:`envs.sim.combat.rules` are):

- all five maps: ``CameraApplyInfo(1, CameraInfoDefault(), ...)`` then ``CameraPan(1, PointWithOffsetPolar(
  RegionGetCenter(RegionFromId(1)), 3.0, 270.0), ...)``: the camera looks at the centre of "Playable Space" moved 3
  world units south (angle 270): (33, 25) on the 22..44 x 20..36 maps, (32, 25) on FindAndDefeatZerglings;
- MoveToBeacon, CollectMineralShards, DefeatRoaches, DefeatZerglingsAndBanelings: ``CameraLockInput(1, true)``, the
  player cannot move the camera (``move_camera`` is ignored); FindAndDefeatZerglings does not lock it (its playable
  space, 44 x 32, is wider than the 24-unit camera).

pysc2's camera model (``features.Features.init_camera`` / ``_update_camera``): the feature screen is centred on
``raw_data.player.camera`` and ``camera_width_world_units`` wide (the ``AgentInterfaceFormat``'s, default 24), y down.
This module uses that very ``transform.Chain`` of the env's ``Features`` (``_world_to_feature_screen_px``), and for
the minimap the same chain pysc2 builds for raw units, scaled to the feature minimap (``world_tl`` times
``minimap / map size``). A moved camera is kept inside the playable area (the game keeps it inside the map's camera
bounds; we take them to be the playable area that ``game_info`` reports: an approximation).
"""

from __future__ import annotations

import numpy as np

from envs.pysc2_compat import point, transform
from envs.sim.geometry import MapConfig

PAN_OFFSET = (0.0, -3.0)
"""``PointWithOffsetPolar(centre, 3.0, 270.0)``: the camera target relative to the playable space's centre."""
FREE_CAMERA_MAPS = frozenset({"FindAndDefeatZerglings"})
"""Maps whose script does not call ``CameraLockInput(1, true)``: the only ones where ``move_camera`` moves it."""


class Camera:
    """The camera of one env: its centre (world), and pixel geometry of the screen ``(W, H)`` and minimap ``(w, h)``.

    ``features`` is the env's pysc2 ``Features`` (its transforms are updated in place, as ``transform_obs`` does);
    ``aif`` the ``AgentInterfaceFormat`` with feature dimensions; ``locked``: ``move_camera`` is ignored.
    """

    def __init__(self, *, features, aif, config: MapConfig, locked: bool):
        self._features = features
        self._config = config
        self.locked = locked
        map_size = point.Point(config.map_size, config.map_size)
        dims = aif.feature_dimensions
        if not hasattr(features, "_world_to_feature_screen_px"):  # pysc2 builds it only for feature / raw units
            features.init_camera(dims, map_size, aif.camera_width_world_units, aif.raw_resolution)
        self._screen = features._world_to_feature_screen_px
        self._minimap = transform.Chain(
            features._world_to_world_tl, transform.Linear(dims.minimap / map_size.max_dim()), transform.PixelToCoord()
        )
        self.screen_size = (int(dims.screen.x), int(dims.screen.y))
        self.minimap_size = (int(dims.minimap.x), int(dims.minimap.y))
        x0, y0, x1, y1 = config.playable
        self.start = ((x0 + x1) / 2 + PAN_OFFSET[0], (y0 + y1) / 2 + PAN_OFFSET[1])
        """The camera target of ``gt_Init``'s ``CameraPan``."""
        self.centre = self.start
        self._pixels: tuple[np.ndarray, np.ndarray] | None = None
        w, h = self.minimap_size
        self._minimap_xs = np.array([self._minimap.back_pt(point.Point(c, 0)).x for c in range(w)])
        self._minimap_ys = np.array([self._minimap.back_pt(point.Point(0, r)).y for r in range(h)])

    def reset(self) -> None:
        """A new episode: the camera back at ``gt_Init``'s target."""
        self.look_at(self.start)

    def look_at(self, centre: tuple[float, float]) -> None:
        x0, y0, x1, y1 = self._config.playable
        self.centre = (min(max(float(centre[0]), x0), x1), min(max(float(centre[1]), y0), y1))
        self._features._update_camera(point.Point(*self.centre))
        self._pixels = None

    def move_to_minimap(self, minimap_xy) -> None:
        """``move_camera``: centre the camera on a minimap pixel (ignored where the map locks the camera)."""
        if not self.locked:
            self.look_at(self.minimap_to_world(minimap_xy))

    def pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """World x of each screen column's centre ``(W,)`` (increasing) and world y of each row's ``(H,)``
        (decreasing: rows go south), through pysc2's screen transform (``PixelToCoord.back_pt``: pixel + 0.5)."""
        if self._pixels is None:
            self._features._update_camera(point.Point(*self.centre))
            w, h = self.screen_size
            xs = np.array([self._screen.back_pt(point.Point(c, 0)).x for c in range(w)])
            ys = np.array([self._screen.back_pt(point.Point(0, r)).y for r in range(h)])
            self._pixels = (xs, ys)
        return self._pixels

    @property
    def pixel_size(self) -> float:
        """World units per screen pixel (``camera_width_world_units / W``)."""
        return float(self._screen.back_dist(1.0))

    def screen_to_world(self, screen_xy) -> tuple[float, float]:
        """The world point at the centre of screen pixel ``(x, y)``."""
        xs, ys = self.pixel_centres()
        w, h = self.screen_size
        col, row = int(screen_xy[0]), int(screen_xy[1])
        if 0 <= col < w and 0 <= row < h:
            return float(xs[col]), float(ys[row])
        p = self._screen.back_pt(point.Point(col, row))
        return float(p.x), float(p.y)

    def minimap_to_world(self, minimap_xy) -> tuple[float, float]:
        """The world point at the centre of minimap pixel ``(x, y)``."""
        p = self._minimap.back_pt(point.Point(int(minimap_xy[0]), int(minimap_xy[1])))
        return float(p.x), float(p.y)

    def minimap_cells(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World ``pos (K, 2)`` -> minimap ``(cols, rows)`` (pysc2's chain: floor), clipped to the minimap."""
        w, h = self.minimap_size
        cells = [self._minimap.fwd_pt(point.Point(x, y)) for x, y in pos.tolist()]
        cols = np.clip(np.array([c.x for c in cells], np.int64), 0, w - 1)
        rows = np.clip(np.array([c.y for c in cells], np.int64), 0, h - 1)
        return cols, rows

    def view(self) -> tuple[float, float, float, float]:
        """The world rectangle the screen shows, ``(x0, y0, x1, y1)`` (pixel edges)."""
        xs, ys = self.pixel_centres()
        half = self.pixel_size / 2
        return xs[0] - half, ys[-1] - half, xs[-1] + half, ys[0] + half

    def minimap_plane(self) -> np.ndarray:
        """The minimap ``camera`` layer ``(h, w)`` uint8: 1 on the cells whose centre the screen shows."""
        x0, y0, x1, y1 = self.view()
        inside_x = (self._minimap_xs >= x0) & (self._minimap_xs <= x1)
        inside_y = (self._minimap_ys >= y0) & (self._minimap_ys <= y1)
        return (inside_y[:, None] & inside_x[None, :]).astype(np.uint8)

    def on_screen(self, pos: np.ndarray, radius: np.ndarray) -> np.ndarray:
        """``(K,)`` bool: the unit's footprint overlaps the screen (``Unit.is_on_screen``)."""
        return footprints_meet(pos, radius, self.view())


def footprints_meet(pos: np.ndarray, radius: np.ndarray, rect: tuple[float, float, float, float]) -> np.ndarray:
    """``(K,)`` bool: the discs at ``pos (K, 2)`` of ``radius (K,)`` meet the world rectangle ``(x0, y0, x1, y1)``."""
    x0, y0, x1, y1 = rect
    dx = np.maximum(np.maximum(x0 - pos[:, 0], pos[:, 0] - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - pos[:, 1], pos[:, 1] - y1), 0.0)
    return dx * dx + dy * dy <= radius * radius
