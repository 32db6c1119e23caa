"""The pickups maps' side of pysc2's protocol: a :class:`~envs.sim.pickups.world.World` as an
``sc_pb.ResponseObservation``, on the shared :class:`~envs.sim.protocol_base.ProtocolWriter`.

Minimap planes we render: ``visibility_map`` (fog is off on these maps: all visible), ``camera``, ``player_id``,
``player_relative``, ``selected``, ``unit_type`` and ``pathable``; the others stay unset, which pysc2 reads as zeros
(as it does for layers a game version lacks). Screen planes stay unset too.
"""

from __future__ import annotations

import numpy as np

from envs.pysc2_compat import PlayerRelative, raw_pb2, sc_pb, score_pb2, units
from envs.sim.pickups.rules import Rules
from envs.sim.pickups.world import World
from envs.sim.protocol_base import FOOD_CAP, SELF_PLAYER_ID, ProtocolWriter

NEUTRAL_PLAYER_ID = 16
MARINE = int(units.Terran.Marine)


class PickupsProtocolBuilder(ProtocolWriter):
    """``World`` -> ``sc_pb.ResponseObservation`` at a given minimap resolution."""

    def __init__(self, rules: Rules, minimap: tuple[int, int]):
        super().__init__(rules.map_config, minimap)
        self._rules = rules
        self._visible = np.full((self._h, self._w), 2, np.uint8).tobytes()
        self.reset()

    def reset(self) -> None:
        """Forget the cached pickups; called with every new world (a cache must never outlive its world)."""
        self._pickup_key: tuple | None = None
        self._pickup_planes: tuple[bytearray, bytearray, bytearray] = ()
        self._pickup_protos: dict[int, raw_pb2.Unit] = {}
        """Pickups never move: their Unit protos are built once per tag and copied into each observation."""

    def _pickup(self, tag: int, pos: np.ndarray) -> raw_pb2.Unit:
        if tag not in self._pickup_protos:
            u = raw_pb2.Unit(
                display_type=raw_pb2.Visible, alliance=raw_pb2.Neutral, tag=tag, unit_type=self._rules.pickup_unit_type,
                owner=NEUTRAL_PLAYER_ID, radius=self._rules.pickup_radius, build_progress=1.0,
                cloak=raw_pb2.NotCloaked, is_on_screen=True,
            )  # fmt: skip
            u.pos.x, u.pos.y = float(pos[0]), float(pos[1])
            self._pickup_protos[tag] = u
        return self._pickup_protos[tag]

    def build(self, world: World, game_loop: int, score: int) -> sc_pb.ResponseObservation:
        response = sc_pb.ResponseObservation()
        obs = response.observation
        obs.game_loop = game_loop
        marines = world.marines
        n_marines = int(marines.alive.sum())
        obs.player_common.player_id = SELF_PLAYER_ID
        obs.player_common.food_cap = FOOD_CAP
        obs.player_common.food_used = obs.player_common.food_army = obs.player_common.army_count = n_marines
        obs.player_common.minerals = score * self._rules.minerals_per_pickup
        obs.score.score_type = score_pb2.Score.Curriculum
        obs.score.score = score
        obs.score.score_details.collected_minerals = score * self._rules.minerals_per_pickup
        obs.abilities.add(ability_id=1, requires_point=True)  # Smart, as in dummy_observation.Builder
        raw = obs.raw_data
        x0, y0, x1, y1 = self._config.playable
        raw.player.camera.x, raw.player.camera.y = (x0 + x1) / 2, (y0 + y1) / 2
        cfg = self._config
        for i in np.flatnonzero(marines.alive):
            u = raw.units.add(
                display_type=raw_pb2.Visible,
                alliance=raw_pb2.Self,
                tag=int(marines.tags[i]),
                unit_type=MARINE,
                owner=SELF_PLAYER_ID,
                facing=float(world.facing[i]),
                radius=cfg.marine_radius,
                health=cfg.marine_health,
                health_max=cfg.marine_health,
                build_progress=1.0,
                cloak=raw_pb2.NotCloaked,
                is_on_screen=True,
                is_powered=True,
            )
            u.pos.x, u.pos.y = float(marines.pos[i, 0]), float(marines.pos[i, 1])
            for ability_id, target in world.orders[i]:
                order = u.orders.add(ability_id=ability_id)
                if type(target) is int:  # unit-targeted order: the target's tag, as the game reports it
                    order.target_unit_tag = target
                else:
                    order.target_world_space_pos.x, order.target_world_space_pos.y = float(target[0]), float(target[1])
        pickups = world.pickups
        alive = np.flatnonzero(pickups.alive)
        raw.units.extend([self._pickup(int(pickups.tags[i]), pickups.pos[i]) for i in alive])
        if len(self._pickup_protos) > 4 * self._rules.num_pickups:  # forget the taken pickups
            self._pickup_protos = {int(pickups.tags[i]): self._pickup_protos[int(pickups.tags[i])] for i in alive}
        self._render(obs.feature_layer_data.minimap_renders, world)
        return response

    def _draw(
        self, planes: tuple[bytearray, bytearray, bytearray], pos: np.ndarray, player: int, rel: int, utype: int
    ) -> None:
        """Mark the pixel under each centre ``pos (K, 2)`` (pysc2's world->minimap transform) in ``planes``."""
        owner, relative, unit_type = planes
        type_bytes = utype.to_bytes(2, "little")
        for x, y in pos.tolist():
            col, row = self._cell(x, y)
            i = row * self._w + col
            owner[i], relative[i] = player, rel
            unit_type[2 * i : 2 * i + 2] = type_bytes

    def _render(self, renders, world: World) -> None:
        """Write the minimap planes. Pickups never move: their pixels are drawn once per set of alive tags."""
        pickups = world.pickups
        key = tuple(pickups.tags[pickups.alive].tolist())
        if key != self._pickup_key:
            n = self._w * self._h
            self._pickup_planes = (bytearray(n), bytearray(n), bytearray(2 * n))
            self._draw(
                self._pickup_planes,
                pickups.pos[pickups.alive],
                NEUTRAL_PLAYER_ID,
                PlayerRelative.NEUTRAL,
                self._rules.pickup_unit_type,
            )
            self._pickup_key = key
        planes = tuple(bytearray(p) for p in self._pickup_planes)
        self._draw(planes, world.marines.pos[world.marines.alive], SELF_PLAYER_ID, PlayerRelative.SELF, MARINE)
        owner, relative, unit_type = planes
        self._plane(renders, "visibility_map", self._visible)
        self._plane(renders, "camera", self._camera)
        self._plane(renders, "player_id", bytes(owner))
        self._plane(renders, "player_relative", bytes(relative))
        self._plane(renders, "selected", self._empty)  # nothing starts selected; raw actions never select
        self._plane(renders, "pathable", self._pathable_bytes)
        plane = renders.unit_type
        plane.bits_per_pixel, plane.size.x, plane.size.y, plane.data = 16, self._w, self._h, bytes(unit_type)
