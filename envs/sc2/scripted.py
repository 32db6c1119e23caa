"""Scripted agents on the observation contract (they run on the real game and the simulator alike).

- :class:`BeaconAgent` (MoveToBeacon, optimal up to the location grid): whenever the beacon's cell
  differs from the marine's last order, move the marine straight to the beacon's cell.
- :class:`GreedyShardsAgent` (CollectMineralShards): each marine heads for the nearest shard that the
  other marine is not heading for; one marine is re-ordered per step (the one whose target vanished
  or changed first), as a human splitting the marines would.
- the combat maps: :mod:`envs.sc2.scripted_combat` (attack-move, focus fire, a baneling split); the registry holds
  each map's first (DefeatZerglingsAndBanelings: the split); the economy maps: :mod:`envs.sc2.scripted_economy` (a
  greedy macro script). The base class is :class:`envs.sc2.scripted_base.ScriptedAgent`.
"""

from __future__ import annotations

import numpy as np

from envs.sc2.convert import ENTITY_FEATURES
from envs.sc2.scripted_base import ScriptedAgent
from envs.sc2.scripted_combat import COMBAT_AGENTS
from envs.sc2.scripted_economy import ECONOMY_AGENTS

_X, _Y = ENTITY_FEATURES.index("x"), ENTITY_FEATURES.index("y")
_ORDER_LENGTH = ENTITY_FEATURES.index("order_length")


class BeaconAgent(ScriptedAgent):
    def act(self, obs) -> dict:
        marines = np.flatnonzero(obs["selectable_mask"])
        beacons = np.flatnonzero(obs["targetable_mask"])
        if len(marines) == 0 or len(beacons) == 0:
            return self.noop()
        cell = int(self._cells(obs, beacons[:1])[0])
        return (
            self.noop()
            if self._orders.get(int(marines[0])) == cell
            else self.move_to(int(marines[0]), int(beacons[0]), cell)
        )


class GreedyShardsAgent(ScriptedAgent):
    def act(self, obs) -> dict:
        marines = np.flatnonzero(obs["selectable_mask"])
        shards = np.flatnonzero(obs["targetable_mask"])
        if len(marines) == 0 or len(shards) == 0:
            return self.noop()
        shard_cells = self._cells(obs, shards)
        alive = set(shard_cells.tolist())
        pos = obs["entities"][:, [_X, _Y]]
        # keep the orders still under way to a cell that holds a shard (an idle marine's order is done: a shard
        # that rounds to the same cell as the one taken is not its target); the others get the nearest unclaimed shard
        busy = obs["entities"][:, _ORDER_LENGTH] > 0
        claimed = {c for m, c in self._orders.items() if m in marines and c in alive and busy[m]}
        for m in marines:
            m = int(m)
            if busy[m] and self._orders.get(m) in alive:
                continue
            free = [i for i, c in enumerate(shard_cells) if c not in claimed] or list(range(len(shards)))
            d = np.linalg.norm(pos[shards[free]] - pos[m], axis=1)
            nearest = free[int(np.argmin(d))]
            cell = int(shard_cells[nearest])
            claimed.add(cell)
            return self.move_to(m, int(shards[nearest]), cell)
        return self.noop()


SCRIPTED_AGENTS: dict[str, type[ScriptedAgent]] = {
    "MoveToBeacon": BeaconAgent,
    "CollectMineralShards": GreedyShardsAgent,
    **{game: agents[0] for game, agents in COMBAT_AGENTS.items()},
    **{game: agents[0] for game, agents in ECONOMY_AGENTS.items()},
}
"""The scripted agent of a minigame, by map name (a registry, not the list of maps: that is :mod:`envs.maps`;
``tests/envs/test_envs_registry.py`` checks that every simulated map has one)."""


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
