"""Scripted agents on the observation contract (they run on the real game and the simulator alike).

- :class:`BeaconAgent` (MoveToBeacon, optimal up to the location grid): whenever the beacon's cell
  differs from the marine's last order, move the marine straight to the beacon's cell.
- :class:`GreedyShardsAgent` (CollectMineralShards): each marine heads for the nearest shard that the
  other marine is not heading for; one marine is re-ordered per step (the one whose target vanished
  or changed first), as a human splitting the marines would.
"""

from __future__ import annotations

import numpy as np

from envs.sc2.convert import ENTITY_FEATURES
from envs.spec import ActionSpec

_X, _Y = ENTITY_FEATURES.index("x"), ENTITY_FEATURES.index("y")


class ScriptedAgent:
    """Base: ``reset()``, ``act(obs) -> structured action``; helpers to build actions."""

    def __init__(self, act_spec: ActionSpec):
        self.spec = act_spec
        names = [t.name for t in act_spec.action_types]
        self._noop, self._move = names.index("no_op"), names.index("Move_pt")
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
        return {"action_type": action_type, "queued": 0, "selected_units": selected, "target_unit": 0, "location": location}

    def move(self, unit: int, cell: int) -> dict:
        self._orders[unit] = cell
        return self._action(self._move, unit, cell)

    def noop(self) -> dict:
        return self._action(self._noop)

    def act(self, obs) -> dict:  # pragma: no cover - interface
        raise NotImplementedError


class BeaconAgent(ScriptedAgent):
    def act(self, obs) -> dict:
        marines = np.flatnonzero(obs["selectable_mask"])
        beacons = np.flatnonzero(obs["targetable_mask"])
        if len(marines) == 0 or len(beacons) == 0:
            return self.noop()
        cell = int(self._cells(obs, beacons[:1])[0])
        return self.noop() if self._orders.get(int(marines[0])) == cell else self.move(int(marines[0]), cell)


class GreedyShardsAgent(ScriptedAgent):
    def act(self, obs) -> dict:
        marines = np.flatnonzero(obs["selectable_mask"])
        shards = np.flatnonzero(obs["targetable_mask"])
        if len(marines) == 0 or len(shards) == 0:
            return self.noop()
        shard_cells = self._cells(obs, shards)
        alive = set(shard_cells.tolist())
        pos = obs["entities"][:, [_X, _Y]]
        # keep targets that still hold a shard; give the others the nearest unclaimed shard
        claimed = {c for m, c in self._orders.items() if m in marines and c in alive}
        for m in marines:
            m = int(m)
            if self._orders.get(m) in alive:
                continue
            free = [i for i, c in enumerate(shard_cells) if c not in claimed] or list(range(len(shards)))
            d = np.linalg.norm(pos[shards[free]] - pos[m], axis=1)
            cell = int(shard_cells[free[int(np.argmin(d))]])
            claimed.add(cell)
            return self.move(m, cell)
        return self.noop()


SCRIPTED_AGENTS: dict[str, type[ScriptedAgent]] = {
    "MoveToBeacon": BeaconAgent,
    "CollectMineralShards": GreedyShardsAgent,
}
"""The scripted agent of a minigame, by map name (a registry, not the list of maps: that is :mod:`envs.maps`;
``tests/test_envs_registry.py`` checks that every simulated map has one)."""


def run_episode(env, agent: ScriptedAgent, seed: int | None = None) -> float:
    """Play one episode; returns the episode score (sum of rewards)."""
    obs, _ = env.reset(seed=seed)
    agent.reset()
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
        total += reward
        done = terminated or truncated
    return total
