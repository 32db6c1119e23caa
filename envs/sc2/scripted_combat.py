"""Scripted agents of the combat minigames, on the observation contract (they run on the real game too).

They see what a policy sees: unit types, alliance, grid positions, health ratios (times the type's hit points,
:data:`envs.sim.combat.units.UNIT_STATS`, the game's values), order counts and order targets; and they act through the
contract's action types (``Attack_pt``, ``Attack_unit``, ``Move_pt``), commanding at most ``max_selected`` units per
step. Distances are in grid cells (one map unit at the default 64 x 64 grid).

- :class:`AttackMoveAgent`: every idle marine attack-moves to the enemies' centre; on FindAndDefeatZerglings, with
  no zergling in sight, to the closest unvisited exploration point of the map's own demo script.
- :class:`FocusFireAgent`: while an enemy is within a marine's range, every marine attacks the enemy in range with
  the lowest hit points (ties: the closest to the marines' centre); otherwise as :class:`AttackMoveAgent`.
- :class:`SplitAgent` (DefeatZerglingsAndBanelings): before the fight, spreads the marines 2.5 apart (more than the
  Baneling's 2.2 splash radius: one explosion reaches one or two marines, not a clump), then attack-moves; in the
  fight, focus fire with Banelings first.
"""

from __future__ import annotations

import numpy as np

from envs.sc2.convert import ENTITY_FEATURES
from envs.sc2.scripted_base import ScriptedAgent
from envs.sim.combat.units import BANELING, MARINE, UNIT_STATS

_F = {name: i for i, name in enumerate(ENTITY_FEATURES)}
_TYPES = np.array([t for t in UNIT_STATS])
_TYPE_COLUMNS = [_F[f"type_{t}"] for t in _TYPES]
_HEALTH = np.array([s.health for s in UNIT_STATS.values()])
_RADIUS = np.array([s.radius for s in UNIT_STATS.values()])
_WAYPOINTS = np.array([
    (17.933, 37.029), (31.7797, 37.0678), (46.1481, 37.119), (45.9831, 26.579), (46.041, 18.9348),
    (32.0075, 18.9545), (17.9101, 18.9885), (17.9353, 27.6113),
])  # fmt: skip
"""FindAndDefeatZerglings' exploration points (world x, y): the centres of its regions TL, Top, TR, Right, BR, Bottom,
BL, Left, in the order of ``gv_explorationPoints`` in its ``MapScript.galaxy`` (demo mode)."""
_VISITED = 4.0
"""An exploration point counts as visited once the marines' centre comes this close (the map's demo mode waits until
its 8 surrounding points have been seen)."""
_SLACK = 1.0
"""Grid positions are floored map positions: "in range" allows one cell more than the weapon's reach."""


class CombatAgent(ScriptedAgent):
    """Base of the combat agents: reading units off the contract and commanding groups of them."""

    def __init__(self, act_spec, *, unit_targeting: bool = False):  # unit_targeting: ScriptedAgent's (moves only)
        names = [t.name for t in act_spec.action_types]
        missing = [f for f in ("Attack_pt", "Attack_unit") if f not in names]
        if missing:
            raise ValueError(f"{type(self).__name__} needs the action types {missing}; the env has {names}")
        self._attack_pt, self._attack_unit = names.index("Attack_pt"), names.index("Attack_unit")
        super().__init__(act_spec, unit_targeting=unit_targeting)

    def reset(self) -> None:
        super().reset()
        self._visited = np.zeros(len(_WAYPOINTS), bool)
        self._turn = 0

    # ------------------------------------------------------------------------------------------ reading
    def units(self, obs) -> dict[str, np.ndarray]:
        """Own and enemy slots with grid positions ``(K, 2)``, hit points, radius and whether each is a Baneling."""
        ent = obs["entities"]
        own = np.flatnonzero(obs["selectable_mask"])
        enemy = np.flatnonzero(obs["targetable_mask"] & (ent[:, _F["alliance_enemy"]] > 0))
        kind = ent[:, _TYPE_COLUMNS].argmax(axis=1)
        pos = ent[:, [_F["x"], _F["y"]]] * np.array([self._w, self._h])
        rows, cols = np.nonzero(obs["location_mask"])
        self._legal = (cols.min(), rows.min(), cols.max(), rows.max())  # bounding box of the legal locations
        return {
            "own": own, "enemy": enemy, "pos": pos, "health": ent[:, _F["health_ratio"]] * _HEALTH[kind],
            "radius": _RADIUS[kind], "baneling": _TYPES[kind] == BANELING.unit_type,
            "idle": ent[:, _F["order_length"]] == 0,
        }  # fmt: skip

    def cell(self, point: np.ndarray) -> int:
        """Location index of the grid point ``(x, y)``, moved into the legal locations' box (the playable area)."""
        x0, y0, x1, y1 = self._legal
        x, y = int(np.clip(round(float(point[0])), x0, x1)), int(np.clip(round(float(point[1])), y0, y1))
        return y * self._w + x

    def in_range(self, u: dict) -> np.ndarray:
        """The enemy slots within a marine's weapon range of some marine."""
        own, enemy, pos, radius = u["own"], u["enemy"], u["pos"], u["radius"]
        if len(own) == 0 or len(enemy) == 0:
            return enemy[:0]
        edge = (
            np.linalg.norm(pos[enemy][:, None] - pos[own][None], axis=-1) - radius[enemy][:, None] - radius[own][None]
        )
        return enemy[(edge <= MARINE.range + _SLACK).any(axis=1)]

    def goal(self, u: dict) -> np.ndarray:
        """Where to attack-move: the enemies' centre; none in sight: the closest unvisited exploration point."""
        if len(u["enemy"]):
            return u["pos"][u["enemy"]].mean(axis=0)
        centre = u["pos"][u["own"]].mean(axis=0)
        points = np.stack([_WAYPOINTS[:, 0], self._h - _WAYPOINTS[:, 1]], axis=1)  # world -> grid (y flipped)
        near = np.linalg.norm(points - centre, axis=1)
        self._visited |= near <= _VISITED
        if self._visited.all():
            self._visited[:] = near <= _VISITED
        return points[int(np.argmin(np.where(self._visited, np.inf, near)))]

    # ---------------------------------------------------------------------------------------- commanding
    def command(self, action_type: int, units, target: int = 0, location: int = 0) -> dict:
        """``action_type`` for the first ``max_selected`` of ``units``."""
        selected = np.full(self.spec.max_selected, self.spec.max_entities, np.int64)
        chosen = list(units)[: self.spec.max_selected]
        selected[: len(chosen)] = chosen
        return {
            "action_type": action_type,
            "queued": 0,
            "selected_units": selected,
            "target_unit": int(target),
            "location": int(location),
        }

    def attack_move(self, u: dict) -> dict:
        """Idle own units attack-move to :meth:`goal`; no_op if none is idle."""
        idle = [int(s) for s in u["own"] if u["idle"][s]]
        if not idle:
            return self.noop()
        return self.command(self._attack_pt, idle, location=self.cell(self.goal(u)))

    def focus(self, obs, u: dict, candidates: np.ndarray) -> dict:
        """Every marine attacks the lowest-health enemy among ``candidates`` (ties: the closest to the marines'
        centre), at most ``max_selected`` per step: first those whose order does not go to its cell (an attack-move
        order can end near it too, so the order is given again to the others, in turns)."""
        centre = u["pos"][u["own"]].mean(axis=0)
        distance = np.linalg.norm(u["pos"][candidates] - centre, axis=1)
        target = int(candidates[np.lexsort((distance, u["health"][candidates]))[0]])
        ent = obs["entities"]
        aim = ent[:, [_F["order_target_x"], _F["order_target_y"]]] * np.array([self._w, self._h])
        on_it = (ent[:, _F["order_target_known"]] > 0) & (np.linalg.norm(aim - u["pos"][target], axis=1) < 0.5)
        self._turn += 1
        own = np.roll(u["own"], -self._turn % len(u["own"]))
        order = sorted(own.tolist(), key=lambda s: bool(on_it[s]) and not u["idle"][s])
        return self.command(self._attack_unit, order, target=target)


class AttackMoveAgent(CombatAgent):
    def act(self, obs) -> dict:
        u = self.units(obs)
        return self.attack_move(u) if len(u["own"]) else self.noop()


class FocusFireAgent(CombatAgent):
    def act(self, obs) -> dict:
        u = self.units(obs)
        if len(u["own"]) == 0:
            return self.noop()
        near = self.in_range(u)
        return self.focus(obs, u, near) if len(near) else self.attack_move(u)


class SplitAgent(CombatAgent):
    SPACING = 2.5
    """Between marines of the split formation (> the Baneling's 2.2 splash radius)."""
    CALM = 8.0
    """No enemy closer than this to any marine: time to split, not to fight."""

    def reset(self) -> None:
        super().reset()
        self._pending: list[tuple[int, int]] | None = None
        """The split of this wave: ``(own slot, location)`` moves still to give; None before the wave's split."""

    def act(self, obs) -> dict:
        u = self.units(obs)
        own, enemy, pos = u["own"], u["enemy"], u["pos"]
        if len(own) == 0:
            return self.noop()
        near = self.in_range(u)
        if len(near):
            self._pending = None
            banes = near[u["baneling"][near]]
            return self.focus(obs, u, banes if len(banes) else near)
        calm = len(enemy) and np.linalg.norm(pos[enemy][:, None] - pos[own][None], axis=-1).min() > self.CALM
        if calm and self._pending is None:
            self._pending = [(int(s), self.cell(slot)) for s, slot in zip(own, self._formation(u))]
        if calm and self._pending:
            slot, location = self._pending.pop(0)
            return self.move(slot, location)
        if calm and not u["idle"][own].all():
            return self.noop()  # the split is under way
        return self.attack_move(u)

    def _formation(self, u: dict) -> np.ndarray:
        """Formation slot per own unit ``(K, 2)``: two staggered lines across the direction to the enemy,
        ``SPACING`` apart, centred on the marines and extending away from the enemy (:meth:`cell` keeps them in the
        playable area); units matched to slots in their order across."""
        own, pos = u["own"], u["pos"]
        centre = pos[own].mean(axis=0)
        ahead = pos[u["enemy"]].mean(axis=0) - centre
        ahead = ahead / max(np.linalg.norm(ahead), 1e-9)
        across = np.array([-ahead[1], ahead[0]])
        k = len(own)
        i = np.arange(k)
        offsets = (i // 2 - (k - 1) // 4) * self.SPACING + (i % 2) * self.SPACING / 2
        depth = -(i % 2) * self.SPACING
        slots = centre + offsets[:, None] * across + depth[:, None] * ahead
        order = np.argsort(pos[own] @ across)
        matched = np.empty_like(slots)
        matched[order] = slots[np.argsort(slots @ across)]
        return matched


COMBAT_AGENTS: dict[str, tuple[type[CombatAgent], ...]] = {
    "DefeatRoaches": (FocusFireAgent, AttackMoveAgent),
    "DefeatZerglingsAndBanelings": (SplitAgent, FocusFireAgent, AttackMoveAgent),
    "FindAndDefeatZerglings": (FocusFireAgent, AttackMoveAgent),
}
"""Scripted baselines per combat map; the first is the map's entry in ``envs.sc2.scripted.SCRIPTED_AGENTS``."""
