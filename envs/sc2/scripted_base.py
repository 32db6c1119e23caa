"""The base of the scripted agents: they act on the observation contract (so they run on the real game and the
simulator alike) and build structured actions."""

from __future__ import annotations

import numpy as np

from envs.sc2.convert import ENTITY_FEATURES
from envs.spec import ActionSpec

_X, _Y = ENTITY_FEATURES.index("x"), ENTITY_FEATURES.index("y")


class ScriptedAgent:
    """Base: ``reset()``, ``act(obs) -> structured action``; helpers to build actions.

    ``unit_targeting``: the movement agents send a unit to a pickup (beacon, shard) with ``Move_unit`` on it through
    the target-unit pointer instead of ``Move_pt`` to its cell (the action set must have ``Move_unit``): the same
    plan, demonstrated in the encoding a unit-targeting policy uses (``perceiver-rl pretrain``)."""

    def __init__(self, act_spec: ActionSpec, *, unit_targeting: bool = False):
        self.spec = act_spec
        names = [t.name for t in act_spec.action_types]
        self._noop, self._move = names.index("no_op"), names.index("Move_pt")
        if unit_targeting and "Move_unit" not in names:
            raise ValueError(
                f"{type(self).__name__}(unit_targeting=True) needs the action type Move_unit; the env has {names}"
            )
        self._move_unit = names.index("Move_unit") if unit_targeting else None
        self._h, self._w = act_spec.spatial_size
        self.reset()

    def reset(self) -> None:
        self._orders: dict[int, int] = {}

    def _cells(self, obs, slots: np.ndarray) -> np.ndarray:
        """Location index ``y * W + x`` of the entities in ``slots``."""
        ent = obs["entities"][slots]
        x = np.clip(np.round(ent[:, _X] * self._w).astype(int), 0, self._w - 1)
        y = np.clip(np.round(ent[:, _Y] * self._h).astype(int), 0, self._h - 1)
        return y * self._w + x

    def _action(self, action_type: int, unit: int = -1, location: int = 0) -> dict:
        selected = np.full(self.spec.max_selected, self.spec.max_entities, np.int64)
        if unit >= 0:
            selected[0] = unit
        return {
            "action_type": action_type,
            "queued": 0,
            "selected_units": selected,
            "target_unit": 0,
            "location": location,
        }

    def move(self, unit: int, cell: int) -> dict:
        self._orders[unit] = cell
        return self._action(self._move, unit, cell)

    def move_to(self, unit: int, target: int, cell: int) -> dict:
        """Send ``unit`` to the entity in slot ``target``, standing in ``cell``: ``Move_unit`` on it when unit
        targeting, else ``Move_pt`` to its cell (the order is remembered by cell either way)."""
        if self._move_unit is None:
            return self.move(unit, cell)
        self._orders[unit] = cell
        return {**self._action(self._move_unit, unit), "target_unit": target}

    def noop(self) -> dict:
        return self._action(self._noop)

    def act(self, obs) -> dict:  # pragma: no cover - interface
        raise NotImplementedError
