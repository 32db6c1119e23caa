"""What the direct path shares across families: the fields it writes, their container, and pysc2's raw-unit rows,
coordinates and static minimap layers computed on arrays.

The direct path writes, for each family (``pickups/direct.py``, ``combat/direct.py``), the numpy arrays pysc2's
``features.transform_obs`` makes of the protocol path's ``ResponseObservation``, with no protos in between: the fields
the contract's converter (:class:`envs.sc2.convert.TimestepConverter`) reads, each equal to pysc2's, dtype and values:

- ``raw_units (K, 46) int64``: pysc2's ``FeatureUnit`` columns, in the protocol path's unit order. Positions as pysc2
  computes them from the proto's ``float32`` coordinates: its world -> raw transform (y flipped, scaled to
  ``raw_resolution``, floored); ``facing`` and ``radius`` truncated to ints as pysc2's ``int64`` array does; orders:
  ``order_length`` and ``order_id_0..3`` (pysc2's ``RAW_ABILITY_ID_TO_FUNC_ID``); shape ``(0,)`` when there is no
  unit, as pysc2's;
- ``feature_minimap (11, H, W) int32``: every minimap layer as pysc2 unpacks the planes the protocol path renders
  (layers it leaves unset are zeros, as pysc2 reads them);
- ``player (11,)``, ``score_cumulative (13,)``, ``game_loop (1,)``: ``int32``.

The arrays are plain ``ndarray``s (pysc2 wraps them in ``NamedNumpyArray``: index them with pysc2's enums,
e.g. ``obs["player"][Player.minerals]``, not by attribute). pysc2's other observation fields are absent.
"""

from __future__ import annotations

import numpy as np

from envs.pysc2_compat import FeatureUnit, MinimapFeatures, named_array, raw_pb2, transform

FIELDS = ("raw_units", "feature_minimap", "player", "game_loop", "score_cumulative")
"""The observation fields the direct path writes (those :class:`envs.sc2.convert.TimestepConverter` reads)."""

_FU = FeatureUnit


class Observation(named_array.NamedDict):
    """pysc2's ``NamedDict`` (``obs["raw_units"]`` or ``obs.raw_units``) without its reference cycle: ``NamedDict``
    sets ``self.__dict__ = self``, which leaves every observation, arrays and all, to the cyclic garbage collector
    (measured: the churn of freeing them in bursts costs ~100 us per step here)."""

    def __init__(self, *args, **kwargs):
        dict.__init__(self, *args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _f32(value: float) -> float:
    """``value`` as a ``float`` proto field holds it (pysc2 reads the float32 back as a Python float)."""
    return float(np.float32(value))


class RawWriter:
    """What every direct builder shares: pysc2's world -> raw-units transform applied to arrays, pysc2's raw-unit rows,
    the protocol renderer's minimap cells, and the static minimap layers of a map (``map_size``, ``playable``).

    ``world_to_raw``: pysc2's world -> raw-units transform (``Features._world_to_minimap_px``, a ``Chain`` of
    ``Linear`` transforms then ``PixelToCoord``), applied here to arrays with the same float operations.
    """

    def __init__(self, map_size: int, playable: tuple[float, float, float, float], minimap: tuple[int, int],
                 world_to_raw: transform.Chain):  # fmt: skip
        self._map_size = map_size
        self._w, self._h = minimap
        self._linear: list[tuple[float, float, float, float]] = []
        for t in world_to_raw.transforms:
            if isinstance(t, transform.Linear):
                self._linear.append((t.scale.x, t.scale.y, t.offset.x, t.offset.y))
            elif not isinstance(t, transform.PixelToCoord) or t is not world_to_raw.transforms[-1]:
                raise ValueError(f"unexpected pysc2 world -> raw transform {world_to_raw}")
        # static minimap layers, as the protocol builders render them (unset layers: zeros)
        x0, y0, x1, y1 = playable
        (c0, c1), (r0, r1) = self._cells(np.array([[x0, y1], [x1, y0]], np.float64))
        self._minimap = np.zeros((len(MinimapFeatures), self._h, self._w), np.int32)
        pathable = self._minimap[MinimapFeatures.pathable.index]
        pathable[r0:r1, c0:c1] = 1
        self._minimap[MinimapFeatures.camera.index] = pathable
        self._minimap[MinimapFeatures.visibility_map.index] = 2  # all visible unless the map has fog

    def _unit_row(
        self, unit_type: int, alliance: int, owner: int, radius: float, health: float, is_powered: bool
    ) -> np.ndarray:
        """The constant columns of pysc2's raw-unit row for a simulated unit (``features.full_unit_vec``)."""
        row = np.zeros(len(FeatureUnit), np.int64)
        health = _f32(health)
        radius = _f32(radius)
        for scale_x, _, _, _ in self._linear:  # pysc2's fwd_dist: the x scale of each Linear transform
            radius = radius * scale_x
        row[_FU.unit_type], row[_FU.alliance], row[_FU.owner] = unit_type, alliance, owner
        row[_FU.health] = int(health)
        row[_FU.build_progress] = int(_f32(1.0) * 100)
        row[_FU.health_ratio] = int(health / health * 255) if health > 0 else 0
        row[_FU.display_type], row[_FU.cloak] = raw_pb2.Visible, raw_pb2.NotCloaked
        row[_FU.radius] = int(radius)
        row[_FU.is_powered] = int(is_powered)
        row[_FU.is_on_screen] = 1
        return row

    def _raw_xy(self, pos: np.ndarray) -> np.ndarray:
        """World ``pos (K, 2)`` -> raw-unit ``(x, y)`` as pysc2 computes it from the protos' float32 coordinates."""
        x, y = pos[:, 0].astype(np.float32).astype(np.float64), pos[:, 1].astype(np.float32).astype(np.float64)
        for scale_x, scale_y, offset_x, offset_y in self._linear:  # Point * scale + offset, per Linear
            x, y = x * scale_x + offset_x, y * scale_y + offset_y
        return np.stack([np.floor(x), np.floor(y)], axis=1).astype(np.int64)

    def _cells(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World ``pos (K, 2)`` -> minimap ``(cols, rows)``: the protocol renderer's pixels (y flipped, floor, clip)."""
        size = self._map_size
        cols = np.floor(pos[:, 0] * (self._w / size)).astype(np.int64)
        rows = np.floor((size - pos[:, 1]) * (self._h / size)).astype(np.int64)
        return np.clip(cols, 0, self._w - 1), np.clip(rows, 0, self._h - 1)
