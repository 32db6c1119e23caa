"""The simulator's direct observation path: ``World`` -> the numpy arrays pysc2's ``features.transform_obs``
makes of the protocol path's ``ResponseObservation`` (:mod:`envs.sim.protocol`), with no protos in between.

It writes the fields the contract's converter (:class:`envs.sc2.convert.TimestepConverter`) reads, each
equal to pysc2's, dtype and values (``tests/test_sim_direct.py`` checks it field by field):

- ``raw_units (K, 46) int64``: pysc2's ``FeatureUnit`` columns and unit order (alive marines, then alive
  pickups). Positions as pysc2 computes them from the proto's ``float32`` coordinates: its world -> raw
  transform (y flipped, scaled to ``raw_resolution``, floored); ``facing`` and ``radius`` truncated to ints as
  pysc2's ``int64`` array does; orders: ``order_length`` and ``order_id_0..3`` (pysc2's
  ``RAW_ABILITY_ID_TO_FUNC_ID``); shape ``(0,)`` when there is no unit, as pysc2's;
- ``feature_minimap (11, H, W) int32``: every minimap layer as pysc2 unpacks the planes the protocol path
  renders (layers it leaves unset are zeros, as pysc2 reads them);
- ``player (11,)``, ``score_cumulative (13,)``, ``game_loop (1,)``: ``int32``.

The arrays are plain ``ndarray``s (pysc2 wraps them in ``NamedNumpyArray``: index them with pysc2's enums,
e.g. ``obs["player"][Player.minerals]``, not by attribute). pysc2's other observation fields are absent.
"""

from __future__ import annotations

import math

import numpy as np

from envs.sc2.pysc2_compat import (
    FeatureUnit, MinimapFeatures, PlayerRelative, actions, features, named_array, raw_pb2, transform,
)  # fmt: skip
from envs.sim.protocol import MARINE, NEUTRAL_PLAYER_ID, SELF_PLAYER_ID
from envs.sim.rules import Rules
from envs.sim.world import MapConfig, World

FIELDS = ("raw_units", "feature_minimap", "player", "game_loop", "score_cumulative")
"""The observation fields the direct path writes (those :class:`envs.sc2.convert.TimestepConverter` reads)."""

_FU = FeatureUnit
_ORDER_COLUMNS = (int(_FU.order_id_0), int(_FU.order_id_1), int(_FU.order_id_2), int(_FU.order_id_3))
_TAG, _X, _Y, _FACING, _ORDER_LENGTH = (int(_FU.tag), int(_FU.x), int(_FU.y), int(_FU.facing), int(_FU.order_length))
_PLAYER_ID, _RELATIVE, _UNIT_TYPE = (
    MinimapFeatures.player_id.index, MinimapFeatures.player_relative.index, MinimapFeatures.unit_type.index,
)  # fmt: skip
_FUNC_OF_ABILITY = actions.RAW_ABILITY_ID_TO_FUNC_ID
_SELF, _NEUTRAL = int(PlayerRelative.SELF), int(PlayerRelative.NEUTRAL)
_P, _S = features.Player, features.ScoreCumulative
_FOOD_CAP = 15
"""As :class:`envs.sim.protocol.ObservationBuilder` reports it."""


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

    def _raw_point(self, x: float, y: float) -> tuple[int, int]:
        """:meth:`_raw_xy` of one point, in Python floats (faster for the one or two marines)."""
        x, y = float(np.float32(x)), float(np.float32(y))
        for scale_x, scale_y, offset_x, offset_y in self._linear:
            x, y = x * scale_x + offset_x, y * scale_y + offset_y
        return math.floor(x), math.floor(y)

    def _cell(self, x: float, y: float) -> tuple[int, int]:
        """:meth:`_cells` of one point, in Python floats."""
        size = self._map_size
        col, row = math.floor(x * (self._w / size)), math.floor((size - y) * (self._h / size))
        return min(max(col, 0), self._w - 1), min(max(row, 0), self._h - 1)

    def _draw(self, minimap: np.ndarray, pos: np.ndarray, player: int, relative: int, unit_type: int) -> None:
        cols, rows = self._cells(pos)
        minimap[_PLAYER_ID, rows, cols] = player
        minimap[_RELATIVE, rows, cols] = relative
        minimap[_UNIT_TYPE, rows, cols] = unit_type


class DirectObservationBuilder(RawWriter):
    """``World`` -> pysc2-style observation fields (:data:`FIELDS`), equal to the protocol path's (movement maps)."""

    def __init__(self, rules: Rules, config: MapConfig, minimap: tuple[int, int], world_to_raw: transform.Chain):
        super().__init__(config.map_size, config.playable, minimap, world_to_raw)
        self._rules, self._config = rules, config
        # the same rows pysc2 makes of the protocol path's Unit protos (envs.sim.protocol.ObservationBuilder)
        self._marine_row = self._unit_row(
            MARINE, raw_pb2.Self, SELF_PLAYER_ID, config.marine_radius, config.marine_health, is_powered=True
        )
        self._pickup_row = self._unit_row(
            rules.pickup_unit_type, raw_pb2.Neutral, NEUTRAL_PLAYER_ID, rules.pickup_radius, 0, is_powered=False
        )
        self.reset()

    def reset(self) -> None:
        """Forget the cached pickups; called with every new world (a cache must never outlive its world)."""
        self._pickup_key: tuple | None = None
        self._pickup_rows = np.zeros((0, len(FeatureUnit)), np.int64)
        self._pickup_minimap = self._minimap

    def _update_pickups(self, world: World) -> None:
        """Pickups never move: their rows and pixels are made once per set of alive tags."""
        pickups = world.pickups
        alive = np.flatnonzero(pickups.alive)
        key = tuple(pickups.tags[alive].tolist())
        if key == self._pickup_key:
            return
        pos = pickups.pos[alive]
        rows = np.repeat(self._pickup_row[None], len(alive), axis=0)
        rows[:, _TAG] = pickups.tags[alive]
        rows[:, [_X, _Y]] = self._raw_xy(pos)
        minimap = self._minimap.copy()
        self._draw(minimap, pos, NEUTRAL_PLAYER_ID, _NEUTRAL, self._rules.pickup_unit_type)
        self._pickup_key, self._pickup_rows, self._pickup_minimap = key, rows, minimap

    def build(self, world: World, game_loop: int, score: int) -> Observation:
        """The observation fields (:data:`FIELDS`) of ``world`` at ``game_loop`` with curriculum ``score``."""
        self._update_pickups(world)
        marines = world.marines
        alive = np.flatnonzero(marines.alive).tolist()
        m = len(alive)
        raw = np.empty((m + len(self._pickup_rows), len(FeatureUnit)), np.int64)
        raw[:m] = self._marine_row
        raw[m:] = self._pickup_rows
        minimap = self._pickup_minimap.copy()
        pos, tags, facing = marines.pos.tolist(), marines.tags.tolist(), world.facing.tolist()
        for row, i in enumerate(alive):  # one or two marines: Python scalars beat numpy calls here
            unit = raw[row]
            x, y = pos[i]
            unit[_TAG] = tags[i]
            unit[_X], unit[_Y] = self._raw_point(x, y)
            unit[_FACING] = int(float(np.float32(facing[i])))
            queue = world.orders[i]
            if queue:
                unit[_ORDER_LENGTH] = len(queue)
                for column, (ability_id, _) in zip(_ORDER_COLUMNS, queue):
                    unit[column] = _FUNC_OF_ABILITY.get(ability_id, 0)
            col, r = self._cell(x, y)
            minimap[_PLAYER_ID, r, col], minimap[_RELATIVE, r, col] = SELF_PLAYER_ID, _SELF
            minimap[_UNIT_TYPE, r, col] = MARINE
        if len(raw) == 0:
            raw = np.zeros(0, np.int64)  # pysc2's shape for no units (never on these maps: the marines live)
        minerals = score * self._rules.minerals_per_pickup
        player = np.zeros(len(_P), np.int32)
        player[_P.player_id], player[_P.minerals], player[_P.food_cap] = SELF_PLAYER_ID, minerals, _FOOD_CAP
        player[_P.food_used] = player[_P.food_army] = player[_P.army_count] = m
        score_cumulative = np.zeros(len(_S), np.int32)
        score_cumulative[_S.score], score_cumulative[_S.collected_minerals] = score, minerals
        return Observation(
            raw_units=raw, feature_minimap=minimap, player=player, game_loop=np.array([game_loop], np.int32),
            score_cumulative=score_cumulative,
        )  # fmt: skip
