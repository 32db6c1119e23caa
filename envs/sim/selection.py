"""The player's selection and control groups in the feature-layer interface, and the UI actions that change them.

State per env: the selected unit tags (in the observation's unit order: the order of ``ui_data.multi``) and ten
control groups. Each observation first drops the units that are gone (dead, removed by a map's script, out of
sight) from both: DefeatRoaches' waves replace every marine by a new unit, whose tag nobody selected.

The maps' scripts select units themselves (``MapScript.galaxy``, read with ``mpyq``): the combat maps call
``UnitGroupSelect(gv_marines, 1, true)`` in ``gt_Init`` (the marines start selected; pysc2's ``docs/mini_games.md``:
"preselected"), and DefeatRoaches / DefeatZerglingsAndBanelings again after each wave's new marines
(``gt_ScoreUpdatesandVictory``); the pickups maps never do (their marines start unselected). :meth:`Selection.observe`
plays that rule: when the player has units it had not before and the family's maps select them, all its units are
selected (``Family.selects_new_units``).

UI actions (pysc2's argument names; our reading of the game's UI, not checked against the game here):

- ``select_point`` at the unit drawn at the clicked pixel (:func:`unit_at`): ``select`` (that unit alone; any unit:
  an enemy or a pickup can be looked at, not commanded), ``toggle`` (the player's unit in or out),
  ``select_all_type`` / ``add_all_type`` (the player's units of its type on the screen, instead of / added to the
  selection); clicking empty ground changes nothing;
- ``select_rect``: the player's units whose footprint meets the rectangle, instead of or added to the selection (a
  rectangle without them changes nothing);
- ``select_army``: all the player's units (every unit of these maps is army); ``select_control_group``: recall /
  set / append / set and steal / append and steal; ``select_unit`` (the multi panel): select / deselect one, select
  / deselect all of its type.

A selection holds the player's units or one other unit, never both: adding the player's units replaces another's.
"""

from __future__ import annotations

import numpy as np

from envs.pysc2_compat import actions, units
from envs.sim.observed_units import ObservedUnits

MARINE = int(units.Terran.Marine)
COMMAND_CARDS: dict[int, tuple[tuple[int, bool], ...]] = {
    MARINE: ((1, True), (4, False), (16, True), (17, True), (18, False), (23, True)),
}
"""``(ability id, requires a point)`` per unit type, as the game lists them in ``observation.abilities`` (its specific
ids; pysc2 offers their general functions): the Marine's command card (Liquipedia "Marine": Move, Stop, Hold
Position, Patrol, Attack; Smart = right click; Stimpack and Combat Shield need research these maps do not have).
pysc2 turns them into ``Smart_*``, ``Stop_quick``, ``Move_*``, ``Patrol_*``, ``HoldPosition_quick``, ``Attack_*``."""

_POINT_ACTS = {value: name for name, value in actions.SELECT_POINT_ACT_OPTIONS}
_GROUP_ACTS = {value: name for name, value in actions.CONTROL_GROUP_ACT_OPTIONS}
_PANEL_ACTS = {value: name for name, value in actions.SELECT_UNIT_ACT_OPTIONS}
NUM_GROUPS = 10


def unit_at(units: ObservedUnits, world: tuple[float, float], candidates: np.ndarray | None = None) -> int | None:
    """Row of the unit drawn at world point ``world`` (a pixel's centre): the top one whose footprint contains it,
    the player's units over the others, later rows over earlier ones (the screen's drawing order,
    :mod:`envs.sim.screen`); ``candidates (K,)`` bool restricts the choice; None if there is none."""
    if not len(units):
        return None
    d = units.pos - np.asarray(world, np.float64)
    hit = (d * d).sum(axis=1) <= units.radius**2
    if candidates is not None:
        hit &= candidates
    rows = np.flatnonzero(hit)
    if not len(rows):
        return None
    return int(rows[np.argmax(units.own[rows] * len(units) + rows)])


class Selection:
    """Selected tags and control groups of one env (see the module docstring)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.tags: list[int] = []
        self.groups: list[list[int]] = [[] for _ in range(NUM_GROUPS)]
        self._own: set[int] = set()
        """The player's tags in the last observation (to notice new units)."""

    # ------------------------------------------------------------------------------------------- observations
    def observe(self, units: ObservedUnits, select_new_units: bool) -> None:
        """A new observation: gone units leave the selection and the groups; new units of the player are selected
        (with all its others) when ``select_new_units`` (the maps' scripts do, see the module docstring)."""
        present = set(units.tags.tolist())
        own = set(units.tags[units.own].tolist())
        self.tags = [t for t in self.tags if t in present]
        self.groups = [[t for t in group if t in present] for group in self.groups]
        if select_new_units and own - self._own:
            self.tags = [t for t in units.tags.tolist() if t in own]
        self._own = own

    def mask(self, units: ObservedUnits) -> np.ndarray:
        """``(K,)`` bool: the selected units (``Unit.is_selected``, the ``selected`` layers)."""
        chosen = set(self.tags)
        return np.array([t in chosen for t in units.tags.tolist()], bool)

    def own_tags(self, units: ObservedUnits) -> list[int]:
        """The selected units the player can command."""
        own = set(units.tags[units.own].tolist())
        return [t for t in self.tags if t in own]

    def abilities(self, units: ObservedUnits) -> list[tuple[int, bool]]:
        """``observation.abilities`` of the selection: the command cards of its own unit types, each ability once."""
        rows = units.index(self.own_tags(units))
        seen: dict[int, bool] = {}
        for unit_type in sorted(set(units.unit_type[rows].tolist())):
            for ability, needs_point in COMMAND_CARDS.get(unit_type, ()):
                seen.setdefault(ability, needs_point)
        return list(seen.items())

    def write_ui(self, ui, units: ObservedUnits) -> None:
        """Fill ``observation.ui_data``: the control groups, and ``single`` (one unit) or ``multi`` (several)."""
        for index, group in enumerate(self.groups):
            rows = units.index(group)
            if len(rows):
                ui.groups.add(
                    control_group_index=index, leader_unit_type=int(units.unit_type[rows[0]]), count=len(rows)
                )
        rows = units.index(self.tags).tolist()
        infos = [
            dict(unit_type=int(units.unit_type[k]), player_relative=int(units.alliance[k]), health=int(units.health[k]),
                 max_health=int(units.health_max[k]))
            for k in rows
        ]  # fmt: skip
        if len(infos) == 1:
            ui.single.unit.CopyFrom(type(ui.single.unit)(**infos[0]))
        elif infos:
            ui.multi.units.extend(type(ui.single.unit)(**info) for info in infos)

    # ----------------------------------------------------------------------------------------------- actions
    def _set(self, units: ObservedUnits, rows, add: bool = False) -> None:
        """Select ``rows`` (the player's units), or add them to a selection of the player's units."""
        new = [int(t) for t in units.tags[np.sort(np.asarray(rows, np.int64))]]
        if add and set(self.tags) <= set(units.tags[units.own].tolist()):
            kept = set(self.tags) | set(new)
            new = [t for t in units.tags.tolist() if t in kept]
        self.tags = new

    def click(self, units: ObservedUnits, row: int | None, act: int, on_screen: np.ndarray) -> None:
        """``select_point`` on the unit ``row`` (None: empty ground) with the proto's ``type`` ``act``."""
        kind = _POINT_ACTS.get(act)
        if row is None or kind is None:
            return
        if not units.own[row]:
            if kind == "select" or not self.tags:
                self.tags = [int(units.tags[row])]
            return
        tag = int(units.tags[row])
        if kind == "select":
            self._set(units, [row])
        elif kind == "toggle":
            if tag in self.tags:
                self.tags = [t for t in self.tags if t != tag]
            else:
                self._set(units, [row], add=True)
        else:  # select_all_type / add_all_type: the player's units of that type on the screen
            same = np.flatnonzero(units.own & (units.unit_type == units.unit_type[row]) & on_screen)
            self._set(units, same, add=kind == "add_all_type")

    def box(self, units: ObservedUnits, rows: np.ndarray, add: bool) -> None:
        """``select_rect`` over the units ``rows`` (those meeting the rectangle): the player's among them."""
        own = rows[units.own[rows]] if len(rows) else rows
        if len(own):
            self._set(units, own, add=add)

    def army(self, units: ObservedUnits, add: bool) -> None:
        """``select_army``."""
        self._set(units, np.flatnonzero(units.own), add=add)

    def control_group(self, units: ObservedUnits, act: int, index: int) -> None:
        """``select_control_group`` with the proto's ``action`` ``act`` on group ``index``."""
        kind = _GROUP_ACTS.get(act)
        if kind is None or not 0 <= index < NUM_GROUPS:
            return
        if kind == "recall":
            if self.groups[index]:
                self._set(units, units.index(self.groups[index]))
            return
        mine = self.own_tags(units)
        if kind.endswith("_and_steal"):
            self.groups = [[t for t in group if t not in mine] for group in self.groups]
        kept = set(mine) | (set(self.groups[index]) if kind.startswith("append") else set())
        self.groups[index] = [t for t in units.tags.tolist() if t in kept]

    def multi_panel(self, units: ObservedUnits, act: int, index: int) -> None:
        """``select_unit`` on the ``index``-th unit of the multi panel (``ui_data.multi``: the selection's order)."""
        kind = _PANEL_ACTS.get(act)
        if kind is None or len(self.tags) < 2 or not 0 <= index < len(self.tags):
            return
        tag = self.tags[index]
        type_of = dict(zip(units.tags.tolist(), units.unit_type.tolist()))
        same = [t for t in self.tags if type_of.get(t) == type_of.get(tag)]
        self.tags = {
            "select": [tag],
            "deselect": [t for t in self.tags if t != tag],
            "select_all_type": same,
            "deselect_all_type": [t for t in self.tags if t not in same],
        }[kind]
