"""The combat maps' direct observation path: ``CombatWorld`` -> the arrays pysc2's ``features.transform_obs`` makes of
the protocol path's ``ResponseObservation`` (:mod:`envs.sim.combat.protocol`), with no protos in between.

The fields of :mod:`envs.sim.direct_base` (:data:`~envs.sim.direct_base.FIELDS`), equal to the protocol path's dtype
and values (``tests/envs/sim/test_sim_combat_direct.py``): raw unit rows of the seen units in slot order with the
float32 rounding and integer truncation pysc2 applies (``health``, ``health_ratio = int(health / health_max * 255)``,
``facing``, ``weapon_cooldown``), orders of the player's units, every minimap layer.
"""

from __future__ import annotations

import numpy as np

from envs.pysc2_compat import FeatureUnit, MinimapFeatures, actions, features, transform
from envs.sim.combat.fog import View
from envs.sim.combat.protocol import ALLIANCE, unit_pixels
from envs.sim.combat.rules import CombatRules
from envs.sim.combat.units import UNIT_STATS
from envs.sim.combat.world import CombatWorld
from envs.sim.direct_base import Observation, RawWriter
from envs.sim.protocol_base import FOOD_CAP, SELF_PLAYER_ID

_FU = FeatureUnit
_ORDER_COLUMNS = (int(_FU.order_id_0), int(_FU.order_id_1), int(_FU.order_id_2), int(_FU.order_id_3))
_PLAYER_ID, _RELATIVE, _UNIT_TYPE, _VISIBILITY = (
    MinimapFeatures.player_id.index, MinimapFeatures.player_relative.index, MinimapFeatures.unit_type.index,
    MinimapFeatures.visibility_map.index,
)  # fmt: skip
_FUNC_OF_ABILITY = actions.RAW_ABILITY_ID_TO_FUNC_ID
_P, _S = features.Player, features.ScoreCumulative


def _truncate32(values: np.ndarray) -> np.ndarray:
    """``values`` stored as float32 proto fields, read back and cast to int64 as pysc2's raw-unit array does."""
    return np.trunc(values.astype(np.float32).astype(np.float64)).astype(np.int64)


class CombatDirectBuilder(RawWriter):
    """``CombatWorld`` -> pysc2-style observation fields, equal to the protocol path's
    (:class:`~envs.sim.combat.protocol.CombatProtocolBuilder` through ``transform_obs``)."""

    def __init__(self, rules: CombatRules, minimap: tuple[int, int], world_to_raw: transform.Chain):
        cfg = rules.map_config
        super().__init__(cfg.map_size, cfg.playable, minimap, world_to_raw)
        keys = [(stats, owner) for stats in UNIT_STATS.values() for owner in ALLIANCE]
        self._templates = np.stack([
            self._unit_row(s.unit_type, ALLIANCE[o], o, s.radius, s.health, is_powered=o == SELF_PLAYER_ID) for s, o in keys
        ])  # fmt: skip
        """pysc2's raw-unit row of each (unit type, owner), constant columns filled ``(K, 46)``."""
        self._template_of = np.full((max(UNIT_STATS) + 1, max(ALLIANCE) + 1), -1, np.int64)
        for i, (stats, owner) in enumerate(keys):
            self._template_of[stats.unit_type, owner] = i

    def reset(self) -> None:
        """Nothing is cached across worlds."""

    def build(self, world: CombatWorld, game_loop: int, score: int, view: View) -> Observation:
        slots = view.seen.nonzero()[0]
        owner = world.owner[slots]
        if len(slots):
            raw = self._templates[self._template_of[world.unit_type[slots], owner]]
            health = world.health[slots].astype(np.float32).astype(np.float64)
            health_max = world.constants["health_max"][slots].astype(np.float32).astype(np.float64)
            raw[:, _FU.tag] = world.tags[slots]
            raw[:, [_FU.x, _FU.y]] = self._raw_xy(world.pos[slots])
            raw[:, _FU.facing] = _truncate32(world.facing[slots])
            raw[:, _FU.health] = np.trunc(health)
            raw[:, _FU.health_ratio] = np.trunc(health / health_max * 255)
            own = owner == SELF_PLAYER_ID
            raw[:, _FU.weapon_cooldown] = np.where(own, _truncate32(np.maximum(world.cooldown[slots], 0.0)), 0)
            for row in np.flatnonzero(own).tolist():
                queue = world.orders[slots[row]]
                if queue:
                    raw[row, _FU.order_length] = len(queue)
                    for column, order in zip(_ORDER_COLUMNS, queue):
                        raw[row, column] = _FUNC_OF_ABILITY.get(order.ability_id, 0)
        else:
            raw = np.zeros(0, np.int64)  # pysc2's shape for no units
        minimap = self._minimap.copy()
        minimap[_VISIBILITY] = view.visibility
        rows, cols, owners, relatives, types = unit_pixels(world, view.seen, self._cells)
        minimap[_PLAYER_ID, rows, cols] = owners
        minimap[_RELATIVE, rows, cols] = relatives
        minimap[_UNIT_TYPE, rows, cols] = types
        army = world.count(SELF_PLAYER_ID)
        player = np.zeros(len(_P), np.int32)
        player[_P.player_id], player[_P.food_cap] = SELF_PLAYER_ID, FOOD_CAP
        player[_P.food_used] = player[_P.food_army] = player[_P.army_count] = army
        score_cumulative = np.zeros(len(_S), np.int32)
        score_cumulative[_S.score] = score
        return Observation(
            raw_units=raw, feature_minimap=minimap, player=player, game_loop=np.array([game_loop], np.int32),
            score_cumulative=score_cumulative,
        )  # fmt: skip
