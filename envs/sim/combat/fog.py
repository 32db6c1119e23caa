"""Fog of war of the combat maps: what the player sees, at the minimap's resolution.

FindAndDefeatZerglings has fog (its ``gt_Init`` reveals nothing): a minimap cell is *visible* while its centre is
within the sight range of one of the player's living units (Marine: 9), *explored* once it has been visible. An enemy
unit is in the observation while its centre is within the sight range of one of the player's units. The two other
combat maps reveal the playable space (``VisRevealArea``): every cell visible, every unit seen.

The view is taken once per agent step (when the observation is made), not every game loop: a cell a marine passed
in the middle of a step but no longer sees at its end stays unexplored (marines move at most 1.1 per step of 8 loops,
against a sight of 9). Both observation paths render from the same :class:`View`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.sim.combat.world import CombatWorld

HIDDEN, FOGGED, VISIBLE = 0, 1, 2
"""pysc2's ``visibility_map`` values."""


@dataclass(frozen=True)
class View:
    """What the player sees at one observation."""

    seen: np.ndarray
    """``(N,)`` bool per slot of the world: the unit is in the observation (own living units, seen enemies)."""
    visibility: np.ndarray
    """``(H, W)`` uint8 minimap plane: :data:`HIDDEN`, :data:`FOGGED` or :data:`VISIBLE`."""


class Fog:
    """The player's view of a :class:`~envs.sim.combat.world.CombatWorld`, on a ``minimap = (W, H)`` grid of a
    ``map_size`` map; ``enabled=False``: everything visible."""

    def __init__(self, map_size: int, minimap: tuple[int, int], enabled: bool):
        self.enabled = enabled
        w, h = minimap
        cols, rows = np.meshgrid(np.arange(w), np.arange(h))
        self._centres = np.stack([(cols + 0.5) * map_size / w, map_size - (rows + 0.5) * map_size / h], axis=-1)
        self._all_visible = np.full((h, w), VISIBLE, np.uint8)
        self.reset()

    def reset(self) -> None:
        """A new episode: nothing explored."""
        self._explored = np.zeros(self._all_visible.shape, bool)

    def __call__(self, world: CombatWorld) -> tuple[View]:
        """The observation builders' view arguments (:class:`envs.sim.families.Family`): :meth:`update`'s view."""
        return (self.update(world),)

    def update(self, world: CombatWorld) -> View:
        """The view of ``world`` now; marks the visible cells explored."""
        alive = world.alive
        if not self.enabled:
            return View(seen=alive.copy(), visibility=self._all_visible)
        own = alive & (world.owner == 1)
        eyes, sight = world.pos[own], world.constants["sight"][own]
        d = world.pos[:, None, :] - eyes[None, :, :]
        seen = alive & (own | (np.hypot(d[..., 0], d[..., 1]) <= sight[None, :]).any(axis=1))
        visible = np.zeros(self._explored.shape, bool)
        for (x, y), r in zip(eyes.tolist(), sight.tolist()):
            c = self._centres
            visible |= (c[..., 0] - x) ** 2 + (c[..., 1] - y) ** 2 <= r * r
        self._explored |= visible
        plane = np.where(visible, VISIBLE, np.where(self._explored, FOGGED, HIDDEN)).astype(np.uint8)
        return View(seen=seen, visibility=plane)
