"""Attacks under way: the delay between a unit starting an attack and its damage (the weapon's *damage point*) and
the flight of its missile (the Roach's acid), for the combat tick (:mod:`envs.sim.combat.tick`).

The game's rules, as the simulator applies them (values per unit and their sources: :mod:`envs.sim.combat.units`):

- An attack starts when the weapon is ready and the target within range (the tick's step 2). The weapon's cooldown
  starts with it; the attacker stands still until its damage point has passed (the game channels the attack).
- At the damage point the weapon's effect happens. A weapon without a missile (Gauss rifle, claws) damages its target
  then; a missile weapon (acid saliva) launches a missile from the attacker's centre, which homes on the target at the
  missile's speed and damages it when it reaches the target's edge.
- Damage lands only on a living target: an attack whose target died during the damage point, or a missile whose target
  died in flight, is wasted (the overkill of focused fire). An attacker that dies during its damage point does not
  attack; a missile in flight lands after its attacker's death.
- Time resolution: the combat tick is 2 game loops. An attack whose damage point ends within a tick takes effect at
  the tick nearest to it (a Marine's 0.8 loops: the tick the attack starts, as before), a missile flies a tick's
  distance per tick and hits in the tick it reaches the target's edge.

One row per attack under way, in arrays (``(S,)`` each): the attacker's and target's slots, the game loops of damage
point left (``-inf``: the missile flies), the missile's position as ``x + iy``, its speed per
game loop (0: no missile), and the damage it deals (the pair's damage per attack when it started).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_IN_FLIGHT = -np.inf
"""``wait`` of a missile in flight (its damage point has passed)."""


def _ints() -> np.ndarray:
    return np.zeros(0, np.int64)


def _floats(dtype=np.float64) -> np.ndarray:
    return np.zeros(0, dtype)


@dataclass
class Shots:
    """The attacks under way in one :class:`~envs.sim.combat.world.CombatWorld` (see the module docstring)."""

    source: np.ndarray = field(default_factory=_ints)
    """``(S,)`` slot of the attacker (-1: it was removed; only missiles in flight keep such a row)."""
    target: np.ndarray = field(default_factory=_ints)
    """``(S,)`` slot of the target."""
    wait: np.ndarray = field(default_factory=_floats)
    """``(S,)`` game loops of damage point left (the attack takes effect in the tick where it falls below half a tick);
    ``-inf``: a missile in flight."""
    pos: np.ndarray = field(default_factory=lambda: _floats(np.complex128))
    """``(S,)`` the missile's position ``x + iy`` (set at launch)."""
    speed: np.ndarray = field(default_factory=_floats)
    """``(S,)`` the missile's speed, map units per game loop; 0: no missile (damage at the damage point)."""
    damage: np.ndarray = field(default_factory=_floats)
    """``(S,)`` damage dealt on landing."""

    def __len__(self) -> int:
        return len(self.source)

    def add(self, source: np.ndarray, target: np.ndarray, wait: np.ndarray, speed: np.ndarray,
            damage: np.ndarray) -> None:  # fmt: skip
        """Start attacks (each ``(K,)``): ``wait`` game loops of damage point, then a missile of ``speed`` (0: none)."""
        self.source = np.concatenate([self.source, source])
        self.target = np.concatenate([self.target, target])
        self.wait = np.concatenate([self.wait, wait])
        self.pos = np.concatenate([self.pos, np.zeros(len(source), np.complex128)])
        self.speed = np.concatenate([self.speed, speed])
        self.damage = np.concatenate([self.damage, damage])

    def _keep(self, keep: np.ndarray) -> None:
        for name in ("source", "target", "wait", "pos", "speed", "damage"):
            setattr(self, name, getattr(self, name)[keep])

    def remap(self, new_slot: np.ndarray) -> None:
        """Follow :meth:`CombatWorld.compact <envs.sim.combat.world.CombatWorld.compact>`: ``new_slot[old]`` is the
        unit's new slot, -1 when it was dropped (``new_slot[-1] == -1``). Attacks on a dropped unit are wasted, and so
        are those of a dropped attacker still winding up."""
        if not len(self):
            return
        self.source, self.target = new_slot[self.source], new_slot[self.target]
        self._keep((self.target >= 0) & ((self.source >= 0) | (self.wait == _IN_FLIGHT)))

    def winding(self, n: int) -> np.ndarray:
        """``(n,)`` bool: the units winding up an attack (they do not move)."""
        busy = np.zeros(n, bool)
        busy[self.source[self.wait != _IN_FLIGHT]] = True
        return busy

    def resolve(self, z: np.ndarray, radius: np.ndarray, alive: np.ndarray, loops: int) -> np.ndarray | None:
        """Advance the attacks by a tick of ``loops`` game loops (units at ``z (N,)`` complex, ``radius (N,)``,
        ``alive (N,)``); returns the damage that lands on each unit in this tick ``(N,)`` (None: none) and drops the
        attacks that landed or were wasted."""
        wait = self.wait
        flying = wait == _IN_FLIGHT
        due = np.greater(loops / 2, wait) & ~flying  # the damage point ends nearest to this tick
        any_due, any_flying = bool(np.count_nonzero(due)), bool(np.count_nonzero(flying))
        if not any_due and not any_flying:  # all winding up
            self.wait = wait - loops
            return None
        target_alive = alive[self.target]
        wasted = np.zeros(len(self), bool)
        landed = wasted.copy()
        if any_due:
            wasted = due & ~(target_alive & alive[np.maximum(self.source, 0)])  # the target or the attacker died
            due &= ~wasted
            landed = due & (self.speed == 0)
            launch = due & ~landed
            if np.count_nonzero(launch):
                self.pos = np.where(launch, z[np.maximum(self.source, 0)], self.pos)
                wait = np.where(launch, _IN_FLIGHT, wait)
                flying = flying | launch
        self.wait = np.where(due | flying, wait, wait - loops)  # the others wind up on
        if np.count_nonzero(flying):
            wasted |= flying & ~target_alive  # its target died in flight
            flying &= target_alive
            offset = z[self.target] - self.pos
            distance = np.abs(offset)
            stride = self.speed * loops
            hit = flying & (distance - radius[self.target] <= stride)
            landed |= hit
            move = flying & ~hit
            step = np.divide(stride, distance, out=np.zeros(len(self)), where=move)
            self.pos = self.pos + offset * step
        damage = None
        if np.count_nonzero(landed):
            damage = np.bincount(self.target[landed], self.damage[landed], minlength=len(z))
        done = landed | wasted
        if np.count_nonzero(done):
            self._keep(~done)
        return damage
