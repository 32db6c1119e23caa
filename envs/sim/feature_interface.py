"""pysc2's feature-layer interface on the simulator: the screen, the camera, the selection and the UI actions, for an
``AgentInterfaceFormat`` with feature dimensions and no raw actions (pysc2's scripted agents, its random agent).

Protocol path only: :meth:`FeatureInterface.observe` completes the ``sc_pb.ResponseObservation`` a family's builder
made (raw units, minimap) with what the game sends in this interface, then pysc2's ``features.transform_obs`` turns
it into ``feature_screen``, ``feature_units``, ``single_select`` / ``multi_select``, ``control_groups`` and
``available_actions`` exactly as for the game:

- ``raw_data.player.camera`` (:class:`~envs.sim.camera.Camera`), ``Unit.is_on_screen`` and ``Unit.is_selected``;
- ``feature_layer_data.renders`` (:class:`~envs.sim.screen.ScreenRenderer`); the minimap's ``camera`` (the view)
  and ``selected`` planes;
- ``observation.abilities`` (the selection's command cards, :mod:`envs.sim.selection`), ``ui_data``.

:meth:`FeatureInterface.act` executes an ``sc_pb.Action`` that pysc2's ``transform_action`` made of a feature-layer
``FunctionCall``: UI actions change the selection or the camera; a unit command becomes the world's raw command
``(tags, ability_id, point, target_tag, queued)`` for the selected units of the player (the family's
``World.command`` executes it). Screen and minimap points become the world point at the pixel's centre. Attack and
Smart on a screen pixel that shows an enemy unit target that unit (the game resolves a click on a unit so); on
anything else, and every Move, the point, moved into the playable area (the game walks a unit to the reachable point
closest to an unreachable target; the maps are open ground). Patrol is executed as an attack-move to its point (the simulator has no
patrol: a patrolling unit engages what it meets like an attack-moving one; it does not walk back). Specific
abilities (``Attack_Attack_screen``, ...) are executed as their general one. Anything else (a command for a
selection without the player's units, an action of another interface) is ignored, as the game answers it with an
error and no effect.
"""

from __future__ import annotations

import numpy as np

from envs.pysc2_compat import actions
from envs.sim.abilities import ATTACK_ABILITY, SMART
from envs.sim.camera import FREE_CAMERA_MAPS, Camera, footprints_meet
from envs.sim.geometry import MapConfig
from envs.sim.observed_units import ObservedUnits
from envs.sim.screen import ScreenRenderer
from envs.sim.selection import Selection, unit_at

PATROL_ABILITY = 3795
"""pysc2's ``Patrol_screen`` / ``Patrol_minimap`` general ability."""
GENERAL_ABILITY = {f.ability_id: f.general_id for f in actions.FUNCTIONS if f.general_id}
"""Specific ability id -> its general id (pysc2's ``Function.general_id``)."""
UNIT_TARGETING = (ATTACK_ABILITY, SMART)
"""Abilities whose screen point on an enemy unit targets that unit."""
ENEMY = 4
"""``Unit.alliance`` of enemy units."""

Command = tuple[set[int], int, tuple[float, float] | None, int, bool]
"""``World.command``'s arguments: ``(tags, ability_id, point, target_tag, queued)``."""


def wants_feature_interface(aif) -> bool:
    """Whether an ``AgentInterfaceFormat`` asks for this interface: feature dimensions and no raw actions (the
    gymnasium adapter's format has a small screen but raw actions: it never pays for a screen)."""
    return aif.feature_dimensions is not None and not aif.use_raw_actions


class FeatureInterface:
    """The feature-layer interface of one env (see the module docstring). ``features``: the env's pysc2 ``Features``
    (its camera transform follows :class:`Camera`); ``select_new_units``: the maps select the player's new units
    (:attr:`envs.sim.families.Family.selects_new_units`)."""

    def __init__(self, *, features, aif, config: MapConfig, map_name: str, select_new_units: bool):
        self.camera = Camera(features=features, aif=aif, config=config, locked=map_name not in FREE_CAMERA_MAPS)
        self.screen = ScreenRenderer(camera=self.camera, config=config)
        self.selection = Selection()
        self._config = config
        self._select_new_units = select_new_units
        self._units = ObservedUnits.from_raw([])
        """The units of the last observation: what the next action clicks on and commands."""

    def reset(self) -> None:
        self.camera.reset()
        self.selection.reset()

    # ----------------------------------------------------------------------------------------- observations
    def observe(self, response) -> None:
        """Complete a family builder's ``response`` (see the module docstring), in place."""
        obs = response.observation
        raw = obs.raw_data
        units = ObservedUnits.from_raw(raw.units)
        self.selection.observe(units, self._select_new_units)
        selected = self.selection.mask(units)
        on_screen = self.camera.on_screen(units.pos, units.radius)
        for unit, is_selected, is_on_screen in zip(raw.units, selected.tolist(), on_screen.tolist()):
            unit.is_selected, unit.is_on_screen = is_selected, is_on_screen
        raw.player.camera.x, raw.player.camera.y = self.camera.centre
        del obs.abilities[:]
        for ability_id, requires_point in self.selection.abilities(units):
            obs.abilities.add(ability_id=ability_id, requires_point=requires_point)
        self.selection.write_ui(obs.ui_data, units)
        minimap = obs.feature_layer_data.minimap_renders
        w, h = self.camera.minimap_size
        chosen = np.zeros((h, w), np.uint8)
        cols, rows = self.camera.minimap_cells(units.pos[selected])
        chosen[rows, cols] = 1
        for name, plane in (("camera", self.camera.minimap_plane()), ("selected", chosen)):
            layer = getattr(minimap, name)
            layer.bits_per_pixel, layer.size.x, layer.size.y, layer.data = 8, w, h, plane.tobytes()
        visibility = np.frombuffer(minimap.visibility_map.data, np.uint8).reshape(h, w)
        self.screen.render(obs.feature_layer_data.renders, units, selected, visibility)
        self._units = units

    # ---------------------------------------------------------------------------------------------- actions
    def act(self, action) -> list[Command]:
        """Execute the UI part of an ``sc_pb.Action``; returns the unit commands for the world."""
        units, commands = self._units, []
        if action.HasField("action_ui"):
            self._ui(action.action_ui, units)
        if action.HasField("action_feature_layer"):
            spatial = action.action_feature_layer
            if spatial.HasField("unit_command"):
                commands += self._commands(spatial.unit_command, units)
            elif spatial.HasField("camera_move"):
                c = spatial.camera_move.center_minimap
                self.camera.move_to_minimap((c.x, c.y))
            elif spatial.HasField("unit_selection_point"):
                pick = spatial.unit_selection_point
                world = self.camera.screen_to_world((pick.selection_screen_coord.x, pick.selection_screen_coord.y))
                on_screen = self.camera.on_screen(units.pos, units.radius)
                self.selection.click(units, unit_at(units, world), pick.type, on_screen)
            elif spatial.HasField("unit_selection_rect"):
                box = spatial.unit_selection_rect
                met = [self._in_rect(units, r) for r in box.selection_screen_coord]
                self.selection.box(units, np.unique(np.concatenate([np.zeros(0, np.int64), *met])), box.selection_add)
        return commands

    def _ui(self, ui, units: ObservedUnits) -> None:
        if ui.HasField("select_army"):
            self.selection.army(units, ui.select_army.selection_add)
        elif ui.HasField("control_group"):
            self.selection.control_group(units, ui.control_group.action, ui.control_group.control_group_index)
        elif ui.HasField("multi_panel"):
            self.selection.multi_panel(units, ui.multi_panel.type, ui.multi_panel.unit_index)

    def _in_rect(self, units: ObservedUnits, rect) -> np.ndarray:
        """Rows of the units whose footprint meets the screen rectangle ``rect`` (pixel corners, inclusive)."""
        (ax, ay), (bx, by) = (self.camera.screen_to_world((p.x, p.y)) for p in (rect.p0, rect.p1))
        half = self.camera.pixel_size / 2
        rect = (min(ax, bx) - half, min(ay, by) - half, max(ax, bx) + half, max(ay, by) + half)
        return np.flatnonzero(footprints_meet(units.pos, units.radius, rect))

    def _commands(self, cmd, units: ObservedUnits) -> list[Command]:
        tags = self.selection.own_tags(units)
        if not tags:
            return []
        ability = GENERAL_ABILITY.get(cmd.ability_id, cmd.ability_id)
        ability = ATTACK_ABILITY if ability == PATROL_ABILITY else ability
        point, target = None, 0
        if cmd.HasField("target_screen_coord"):
            point = self.camera.screen_to_world((cmd.target_screen_coord.x, cmd.target_screen_coord.y))
            row = unit_at(units, point, units.alliance == ENEMY) if ability in UNIT_TARGETING else None
            if row is not None:
                point, target = None, int(units.tags[row])
        elif cmd.HasField("target_minimap_coord"):
            point = self.camera.minimap_to_world((cmd.target_minimap_coord.x, cmd.target_minimap_coord.y))
        if point is None:
            return [(set(tags), ability, None, target, cmd.queue_command)]
        return [({tag}, ability, self._reachable(p), 0, cmd.queue_command)
                for tag, p in formation(units.pos[units.index(tags)], tags, point)]  # fmt: skip

    def _reachable(self, point: tuple[float, float]) -> tuple[float, float]:
        """The game sends a unit to the reachable point closest to its target: here, the closest point of the
        playable area (the maps are open ground)."""
        x0, y0, x1, y1 = self._config.playable
        return min(max(point[0], x0), x1), min(max(point[1], y0), y1)


def formation(pos: np.ndarray, tags: list[int], point: tuple[float, float]) -> list[tuple[int, tuple[float, float]]]:
    """Each unit's target point for a group order to ``point`` (``pos (K, 2)`` of the units ``tags``): SC2's "magic
    box" (Liquipedia, "Magic Box"): a point outside the box around the group moves the units in formation (each to
    ``point`` plus its offset from the box's centre); a point inside it, or a single unit, converges on ``point``."""
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    x, y = point
    if len(tags) < 2 or (lo[0] <= x <= hi[0] and lo[1] <= y <= hi[1]):
        return [(tag, (x, y)) for tag in tags]
    offsets = pos - (lo + hi) / 2
    return [(tag, (x + float(dx), y + float(dy))) for tag, (dx, dy) in zip(tags, offsets.tolist())]
