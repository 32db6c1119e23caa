"""The combat maps' side of pysc2's protocol: a :class:`~envs.sim.combat.world.CombatWorld` as an
``sc_pb.ResponseObservation``, on the shared :class:`~envs.sim.protocol_base.ProtocolWriter`, with the fields a combat
observation carries in the raw interface:

- raw units: the player's living units (``alliance`` Self, owner 1) and the enemy units it sees (Enemy, owner 2:
  all of them without fog, :mod:`envs.sim.combat.fog`), in slot order, each with ``unit_type``, ``health`` /
  ``health_max``, ``shield`` 0, ``facing``, ``radius``; the player's units also with ``weapon_cooldown`` (game loops
  until the weapon is ready) and ``orders`` (ability, target point or unit tag), which the game leaves out for enemy
  units ("not populated for enemies" in ``raw.proto``);
- minimap: ``visibility_map`` (the fog view), ``player_id``, ``player_relative``, ``unit_type`` under each seen unit's
  centre (the player's units drawn over the enemy's), ``camera`` and ``pathable`` (the playable area),
  ``selected`` (zeros);
- player: army count and food used = the player's living units; the curriculum score.
"""

from __future__ import annotations

import numpy as np

from envs.pysc2_compat import PlayerRelative, raw_pb2, sc_pb, score_pb2
from envs.sim.combat.fog import View
from envs.sim.combat.rules import CombatRules
from envs.sim.combat.world import CombatWorld
from envs.sim.protocol_base import FOOD_CAP, SELF_PLAYER_ID, ProtocolWriter

ENEMY_PLAYER_ID = 2
RELATIVE = {SELF_PLAYER_ID: int(PlayerRelative.SELF), ENEMY_PLAYER_ID: int(PlayerRelative.ENEMY)}
ALLIANCE = {SELF_PLAYER_ID: raw_pb2.Self, ENEMY_PLAYER_ID: raw_pb2.Enemy}


def unit_pixels(world: CombatWorld, seen: np.ndarray, cells) -> tuple[np.ndarray, ...]:
    """Minimap pixels of the seen units, in drawing order (enemies first, the player's units over them): ``(rows,
    cols, owner, player_relative, unit_type)``, each ``(K,)``. ``cells``: world ``(K, 2)`` -> ``(cols, rows)``."""
    own = world.owner == SELF_PLAYER_ID
    order = np.concatenate(((seen & ~own).nonzero()[0], (seen & own).nonzero()[0]))
    cols, rows = cells(world.pos[order])
    relative = np.where(own[order], RELATIVE[SELF_PLAYER_ID], RELATIVE[ENEMY_PLAYER_ID])
    return rows, cols, world.owner[order], relative, world.unit_type[order]


class CombatProtocolBuilder(ProtocolWriter):
    """``CombatWorld`` -> ``sc_pb.ResponseObservation`` at a given minimap resolution (see the module docstring)."""

    def __init__(self, rules: CombatRules, minimap: tuple[int, int]):
        super().__init__(rules.map_config, minimap)
        self._flip = tuple(np.array(v, np.float64) for v in ((1.0, -1.0), (0.0, self._config.map_size), self._scale,
                                                              (self._w - 1, self._h - 1)))  # fmt: skip
        """:meth:`cells`' constants: ``(x, y) * (1, -1) + (0, map size)``, times the scale, clipped to the last
        pixel."""
        self._template = self._constant_fields()

    def _constant_fields(self) -> sc_pb.ResponseObservation:
        """The fields that are the same in every observation, the variable minimap planes with their sizes: each
        observation starts as a copy of it (one upb copy, not ~30 field writes per step)."""
        response = sc_pb.ResponseObservation()
        obs = response.observation
        obs.player_common.player_id = SELF_PLAYER_ID
        obs.player_common.food_cap = FOOD_CAP
        obs.score.score_type = score_pb2.Score.Curriculum
        obs.abilities.add(ability_id=1, requires_point=True)  # Smart, as in dummy_observation.Builder
        x0, y0, x1, y1 = self._config.playable
        obs.raw_data.player.camera.x, obs.raw_data.player.camera.y = (x0 + x1) / 2, (y0 + y1) / 2
        renders = obs.feature_layer_data.minimap_renders
        for name in ("visibility_map", "player_id", "player_relative"):  # data per observation
            self._plane(renders, name, b"")
        self._plane(renders, "camera", self._camera)
        self._plane(renders, "selected", self._empty)  # raw actions never select
        self._plane(renders, "pathable", self._pathable_bytes)
        renders.unit_type.bits_per_pixel, renders.unit_type.size.x, renders.unit_type.size.y = 16, self._w, self._h
        return response

    def reset(self) -> None:
        """Nothing is cached across worlds."""

    def cells(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World ``pos (K, 2)`` -> minimap ``(cols, rows)``: :meth:`ProtocolWriter._cell` on arrays (``x * 1 + 0``
        and ``y * -1 + size`` are ``x`` and ``size - y`` exactly)."""
        flip, offset, scale, last = self._flip
        cells = np.floor((pos * flip + offset) * scale)
        np.minimum(np.maximum(cells, 0.0, out=cells), last, out=cells)
        cells = cells.astype(np.int64)
        return cells[:, 0], cells[:, 1]

    def build(self, world: CombatWorld, game_loop: int, score: int, view: View) -> sc_pb.ResponseObservation:
        response = sc_pb.ResponseObservation()
        response.CopyFrom(self._template)
        obs = response.observation
        obs.game_loop = game_loop
        army = world.count(SELF_PLAYER_ID)
        player = obs.player_common
        player.food_used = player.food_army = player.army_count = army
        obs.score.score = score
        raw = obs.raw_data
        slots = view.seen.nonzero()[0]
        c = world.constants
        columns = (world.tags, world.unit_type, world.owner, world.facing, c["radius"], world.health, c["health_max"],
                   world.cooldown, world.pos)  # fmt: skip
        columns = zip(slots.tolist(), *(a[slots].tolist() for a in columns))  # Python scalars: no numpy per unit
        units = raw.units
        for slot, tag, unit_type, owner, facing, radius, health, health_max, cooldown, (x, y) in columns:
            own = owner == SELF_PLAYER_ID
            u = units.add(
                display_type=raw_pb2.Visible, alliance=ALLIANCE[owner], tag=tag, unit_type=unit_type, owner=owner,
                facing=facing, radius=radius, health=health, health_max=health_max, build_progress=1.0,
                cloak=raw_pb2.NotCloaked, is_on_screen=True, is_powered=own,
            )  # fmt: skip
            u.pos.x, u.pos.y = x, y
            if own:
                u.weapon_cooldown = max(cooldown, 0.0)
                for order in world.orders[slot]:
                    o = u.orders.add(ability_id=order.ability_id)
                    if order.target:
                        o.target_unit_tag = order.target
                    elif order.point is not None:
                        o.target_world_space_pos.x, o.target_world_space_pos.y = order.point
        self._render_units(obs.feature_layer_data.minimap_renders, world, view)
        return response

    def _render_units(self, renders, world: CombatWorld, view: View) -> None:
        n = self._w * self._h
        owner, relative, unit_type = np.zeros(n, np.uint8), np.zeros(n, np.uint8), np.zeros(n, np.uint16)
        rows, cols, owners, relatives, types = unit_pixels(world, view.seen, self.cells)
        pixel = rows * self._w + cols
        owner[pixel], relative[pixel], unit_type[pixel] = owners, relatives, types
        # the planes' sizes and the constant planes come with the template (_constant_fields)
        renders.visibility_map.data = view.visibility.tobytes()
        renders.player_id.data = owner.tobytes()
        renders.player_relative.data = relative.tobytes()
        renders.unit_type.data = unit_type.astype("<u2").tobytes()
