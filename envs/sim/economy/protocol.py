"""The economy maps' side of pysc2's protocol: an :class:`~envs.sim.economy.world.EconomyWorld` as an
``sc_pb.ResponseObservation``, on the shared :class:`~envs.sim.protocol_base.ProtocolWriter`:

- raw units (:mod:`envs.sim.economy.snapshot`, creation order): the player's structures, SCVs and marines (``alliance``
  Self, owner 1, ``health`` = ``health_max``, ``build_progress`` of structures under construction, ``orders`` with
  their ability, target point or unit tag and, for the trainee in production, ``progress``), the neutral mineral
  fields and geysers (Neutral, owner 16, ``mineral_contents`` / ``vespene_contents``); a Refinery reports its geyser's
  ``vespene_contents``;
- minimap: ``visibility_map`` (all visible: the maps reveal their playable space), ``player_id``, ``player_relative``,
  ``unit_type`` under each unit's centre (later units over earlier ones), ``camera`` and ``pathable`` (the playable
  area), ``selected`` (zeros);
- player: minerals, vespene, food used (units and queued trainees) / cap, army (marines), workers, idle workers;
  score: the curriculum score, collected minerals and vespene, spent minerals.
"""

from __future__ import annotations

import numpy as np

from envs.pysc2_compat import PlayerRelative, raw_pb2, sc_pb, score_pb2
from envs.sim.economy.rules import EconomyRules
from envs.sim.economy.snapshot import Snapshot, player_numbers, snapshot
from envs.sim.economy.units import UNIT_TYPES
from envs.sim.economy.world import NEUTRAL, PLAYER, EconomyWorld
from envs.sim.protocol_base import SELF_PLAYER_ID, ProtocolWriter

ALLIANCE = {PLAYER: raw_pb2.Self, NEUTRAL: raw_pb2.Neutral}
RELATIVE = {PLAYER: int(PlayerRelative.SELF), NEUTRAL: int(PlayerRelative.NEUTRAL)}


class EconomyProtocolBuilder(ProtocolWriter):
    """``EconomyWorld`` -> ``sc_pb.ResponseObservation`` at a given minimap resolution."""

    def __init__(self, rules: EconomyRules, minimap: tuple[int, int]):
        super().__init__(rules.map_config, minimap)
        self._rules = rules
        self._visible = np.full((self._h, self._w), 2, np.uint8).tobytes()

    def reset(self) -> None:
        """Nothing is cached across worlds."""

    def build(self, world: EconomyWorld, game_loop: int, score: int) -> sc_pb.ResponseObservation:
        response = sc_pb.ResponseObservation()
        obs = response.observation
        obs.game_loop = game_loop
        common = obs.player_common
        common.player_id = SELF_PLAYER_ID
        for name, value in player_numbers(world).items():
            setattr(common, name, value)
        obs.score.score_type = score_pb2.Score.Curriculum
        obs.score.score = score
        details = obs.score.score_details
        details.collected_minerals, details.collected_vespene = world.collected_minerals, world.collected_vespene
        details.spent_minerals = world.spent_minerals
        obs.abilities.add(ability_id=1, requires_point=True)  # Smart, as in dummy_observation.Builder
        raw = obs.raw_data
        x0, y0, x1, y1 = self._config.playable
        raw.player.camera.x, raw.player.camera.y = (x0 + x1) / 2, (y0 + y1) / 2
        view = snapshot(world)
        self._units(raw, view)
        self._render(obs.feature_layer_data.minimap_renders, view)
        return response

    @staticmethod
    def _units(raw, view: Snapshot) -> None:
        for i in range(len(view.tags)):
            owner = int(view.owners[i])
            kind = UNIT_TYPES[int(view.type_ids[i])]
            unit = raw.units.add(
                display_type=raw_pb2.Visible, alliance=ALLIANCE[owner], tag=int(view.tags[i]), unit_type=kind.type_id,
                owner=owner, radius=kind.radius, build_progress=float(view.progress[i]), cloak=raw_pb2.NotCloaked,
                is_on_screen=True, is_powered=owner == PLAYER,
            )  # fmt: skip
            if owner == PLAYER:
                unit.health = unit.health_max = kind.health
            unit.pos.x, unit.pos.y = float(view.pos[i, 0]), float(view.pos[i, 1])
            if view.minerals[i]:
                unit.mineral_contents = int(view.minerals[i])
            if view.vespene[i]:
                unit.vespene_contents = int(view.vespene[i])
            for ability_id, point, target, progress in view.orders[i]:
                order = unit.orders.add(ability_id=ability_id)
                if point is not None:
                    order.target_world_space_pos.x, order.target_world_space_pos.y = float(point[0]), float(point[1])
                elif target:
                    order.target_unit_tag = target
                if progress:
                    order.progress = progress

    def _render(self, renders, view: Snapshot) -> None:
        """Every unit's centre pixel (later units drawn over earlier ones)."""
        n = self._w * self._h
        owner, relative, unit_type = bytearray(n), bytearray(n), bytearray(2 * n)
        for (x, y), player, type_id in zip(view.pos.tolist(), view.owners.tolist(), view.type_ids.tolist()):
            col, row = self._cell(x, y)
            i = row * self._w + col
            owner[i], relative[i] = player, RELATIVE[player]
            unit_type[2 * i : 2 * i + 2] = type_id.to_bytes(2, "little")
        self._plane(renders, "visibility_map", self._visible)
        self._plane(renders, "camera", self._camera)
        self._plane(renders, "player_id", bytes(owner))
        self._plane(renders, "player_relative", bytes(relative))
        self._plane(renders, "selected", self._empty)
        self._plane(renders, "pathable", self._pathable_bytes)
        plane = renders.unit_type
        plane.bits_per_pixel, plane.size.x, plane.size.y, plane.data = 16, self._w, self._h, bytes(unit_type)
