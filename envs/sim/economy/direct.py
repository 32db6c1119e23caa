"""The economy maps' direct observation path: ``EconomyWorld`` -> the arrays pysc2's ``features.transform_obs`` makes of
the protocol path's ``ResponseObservation`` (:mod:`envs.sim.economy.protocol`), with no protos in between.

The fields of :mod:`envs.sim.direct_base`, equal to the protocol path's dtype and values
(``tests/envs/sim/test_sim_economy.py``): one raw-unit row per unit of :func:`~envs.sim.economy.snapshot.snapshot` (its
type's constant row, then tag, position through pysc2's world -> raw transform, ``build_progress`` and order
``progress`` as pysc2 truncates the float32 fields times 100, contents, orders mapped to pysc2's function ids), every
minimap layer, ``player`` and ``score_cumulative``.
"""

from __future__ import annotations

import numpy as np

from envs.pysc2_compat import FeatureUnit, MinimapFeatures, actions, features, raw_pb2, transform
from envs.sim.direct_base import Observation, RawWriter
from envs.sim.economy.protocol import RELATIVE
from envs.sim.economy.rules import EconomyRules
from envs.sim.economy.snapshot import player_numbers, snapshot
from envs.sim.economy.units import UNIT_TYPES
from envs.sim.economy.world import NEUTRAL, PLAYER, EconomyWorld
from envs.sim.protocol_base import SELF_PLAYER_ID

_FU = FeatureUnit
_ORDER_COLUMNS = (int(_FU.order_id_0), int(_FU.order_id_1), int(_FU.order_id_2), int(_FU.order_id_3))
_PROGRESS_COLUMNS = (int(_FU.order_progress_0), int(_FU.order_progress_1))
_PLAYER_ID, _RELATIVE, _UNIT_TYPE = (
    MinimapFeatures.player_id.index, MinimapFeatures.player_relative.index, MinimapFeatures.unit_type.index,
)  # fmt: skip
_FUNC_OF_ABILITY = actions.RAW_ABILITY_ID_TO_FUNC_ID
_P, _S = features.Player, features.ScoreCumulative
_OWNERS = (PLAYER, NEUTRAL)


def _percent(value: float) -> int:
    """``int(value * 100)`` of a float32 proto field read back, as pysc2 computes ``build_progress`` and order
    ``progress``."""
    return int(float(np.float32(value)) * 100)


class EconomyDirectBuilder(RawWriter):
    """``EconomyWorld`` -> pysc2-style observation fields, equal to the protocol path's
    (:class:`~envs.sim.economy.protocol.EconomyProtocolBuilder` through ``transform_obs``)."""

    def __init__(self, rules: EconomyRules, minimap: tuple[int, int], world_to_raw: transform.Chain):
        cfg = rules.map_config
        super().__init__(cfg.map_size, cfg.playable, minimap, world_to_raw)
        alliance = {PLAYER: raw_pb2.Self, NEUTRAL: raw_pb2.Neutral}
        keys = [(kind, owner) for kind in UNIT_TYPES.values() for owner in _OWNERS]
        self._templates = np.stack([
            self._unit_row(k.type_id, alliance[o], o, k.radius, k.health if o == PLAYER else 0, is_powered=o == PLAYER)
            for k, o in keys
        ])  # fmt: skip
        """pysc2's raw-unit row of each (unit type, owner), constant columns filled ``(T, 46)``."""
        self._template_of = np.full((max(UNIT_TYPES) + 1, NEUTRAL + 1), -1, np.int64)
        for i, (kind, owner) in enumerate(keys):
            self._template_of[kind.type_id, owner] = i
        self._relative_of = np.zeros(NEUTRAL + 1, np.int32)
        for owner, relative in RELATIVE.items():
            self._relative_of[owner] = relative

    def reset(self) -> None:
        """Nothing is cached across worlds."""

    def build(self, world: EconomyWorld, game_loop: int, score: int) -> Observation:
        view = snapshot(world)
        minimap = self._minimap.copy()
        if len(view.tags):
            raw = self._templates[self._template_of[view.type_ids, view.owners]]
            raw[:, _FU.tag] = view.tags
            raw[:, [_FU.x, _FU.y]] = self._raw_xy(view.pos)
            raw[:, _FU.mineral_contents] = view.minerals
            raw[:, _FU.vespene_contents] = view.vespene
            for row in np.flatnonzero(view.progress < 1.0).tolist():
                raw[row, _FU.build_progress] = _percent(view.progress[row])
            for row, queue in enumerate(view.orders):
                if not queue:
                    continue
                unit = raw[row]
                unit[_FU.order_length] = len(queue)
                for column, (ability_id, _, _, _) in zip(_ORDER_COLUMNS, queue):
                    unit[column] = _FUNC_OF_ABILITY.get(ability_id, 0)
                for column, (_, _, _, progress) in zip(_PROGRESS_COLUMNS, queue):
                    unit[column] = _percent(progress)
            cols, rows = self._cells(view.pos)
            minimap[_PLAYER_ID, rows, cols] = view.owners
            minimap[_RELATIVE, rows, cols] = self._relative_of[view.owners]
            minimap[_UNIT_TYPE, rows, cols] = view.type_ids
        else:
            raw = np.zeros(0, np.int64)  # pysc2's shape for no units
        player = np.zeros(len(_P), np.int32)
        player[_P.player_id] = SELF_PLAYER_ID
        for name, value in player_numbers(world).items():
            player[_P[name]] = value
        score_cumulative = np.zeros(len(_S), np.int32)
        score_cumulative[_S.score] = score
        score_cumulative[_S.collected_minerals] = world.collected_minerals
        score_cumulative[_S.collected_vespene] = world.collected_vespene
        score_cumulative[_S.spent_minerals] = world.spent_minerals
        return Observation(
            raw_units=raw, feature_minimap=minimap, player=player, game_loop=np.array([game_loop], np.int32),
            score_cumulative=score_cumulative,
        )  # fmt: skip
