"""The pickups maps' direct observation path: ``World`` -> the arrays pysc2's ``features.transform_obs`` makes of the
protocol path's ``ResponseObservation`` (:mod:`envs.sim.pickups.protocol`), with no protos in between (the fields:
:mod:`envs.sim.direct_base`), equal to the protocol path's dtype and values field by field
(``tests/envs/sim/test_sim_direct.py``): alive marines, then alive pickups.
"""

from __future__ import annotations

import math

import numpy as np

from envs.pysc2_compat import FeatureUnit, MinimapFeatures, PlayerRelative, actions, features, raw_pb2, transform
from envs.sim.direct_base import Observation, RawWriter
from envs.sim.pickups.protocol import MARINE, NEUTRAL_PLAYER_ID
from envs.sim.pickups.rules import Rules
from envs.sim.pickups.world import World
from envs.sim.protocol_base import FOOD_CAP, SELF_PLAYER_ID

_FU = FeatureUnit
_ORDER_COLUMNS = (int(_FU.order_id_0), int(_FU.order_id_1), int(_FU.order_id_2), int(_FU.order_id_3))
_TAG, _X, _Y, _FACING, _ORDER_LENGTH = (int(_FU.tag), int(_FU.x), int(_FU.y), int(_FU.facing), int(_FU.order_length))
_PLAYER_ID, _RELATIVE, _UNIT_TYPE = (
    MinimapFeatures.player_id.index, MinimapFeatures.player_relative.index, MinimapFeatures.unit_type.index,
)  # fmt: skip
_FUNC_OF_ABILITY = actions.RAW_ABILITY_ID_TO_FUNC_ID
_SELF, _NEUTRAL = int(PlayerRelative.SELF), int(PlayerRelative.NEUTRAL)
_P, _S = features.Player, features.ScoreCumulative


class PickupsDirectBuilder(RawWriter):
    """``World`` -> pysc2-style observation fields (:data:`envs.sim.direct_base.FIELDS`), equal to the protocol path's
    (:class:`~envs.sim.pickups.protocol.PickupsProtocolBuilder` through ``transform_obs``)."""

    def __init__(self, rules: Rules, minimap: tuple[int, int], world_to_raw: transform.Chain):
        config = rules.map_config
        super().__init__(config.map_size, config.playable, minimap, world_to_raw)
        self._rules, self._config = rules, config
        # the same rows pysc2 makes of the protocol path's Unit protos (PickupsProtocolBuilder)
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
        """The observation fields of ``world`` at ``game_loop`` with curriculum ``score``."""
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
        player[_P.player_id], player[_P.minerals], player[_P.food_cap] = SELF_PLAYER_ID, minerals, FOOD_CAP
        player[_P.food_used] = player[_P.food_army] = player[_P.army_count] = m
        score_cumulative = np.zeros(len(_S), np.int32)
        score_cumulative[_S.score], score_cumulative[_S.collected_minerals] = score, minerals
        return Observation(
            raw_units=raw, feature_minimap=minimap, player=player, game_loop=np.array([game_loop], np.int32),
            score_cumulative=score_cumulative,
        )  # fmt: skip

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
