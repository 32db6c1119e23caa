"""One combat tick, vectorised over the units of a :class:`~envs.sim.army.CombatWorld` (numpy, no per-pair Python
loop). The map rules advance the world in ticks of 2 game loops (:attr:`envs.sim.combat_rules.CombatRules.TICK`).

The model, in the order a tick applies it to every unit at once (distances between the edges of the units' circles
unless said otherwise):

0. **Collisions.** Overlapping circles of living units are pushed apart (half the overlap each, along the line of
   their centres) and kept inside the playable area.
1. **Targets.** A unit with an attack-unit order (``TARGET``) targets that unit. A unit that is idle, attack-moving
   or holding position keeps the enemy it engages while that one lives and stays within its sight (holding: its
   weapon range); otherwise it acquires the closest living enemy within its acquisition range (``scan_range``;
   holding: weapon range). Moving and following units target nothing. The enemy player has no AI: its units are
   idle units under this rule, as in the maps, where player 2 gets no orders.
2. **Attacks.** A unit whose target is within its weapon range and whose weapon is ready fires: damage
   ``max(damage + bonus_vs_light * light - armor, 0.5)`` lands at once (no damage point, no missile flight), and the
   weapon cools down for the unit's cooldown (in game loops, fractions carried over). A suicide unit (Baneling)
   instead damages every enemy whose circle reaches within ``splash`` of its centre, full damage, then dies. An idle
   unit without a target that is shot acquires its attacker (the game's response to an attack), and so do its idle
   allies without a target that have the attacker within their sight (the group answering: an assumption, the game's
   rule for it is not in the data we read).
3. **Movement.** Units not firing move at their speed (straight, no pathing: the maps are open): towards their target
   until it is in weapon range (not when holding), else towards their order's point or unit. A move or attack-move
   order ends on arrival; a follow order when touching its unit; an attack-unit order when its target dies.
4. **Deaths and regeneration.** Units at or below 0 hit points die; living units regenerate (Zerg: 0.38 per second).

Positions are handled as complex numbers ``x + iy`` (a view of ``CombatWorld.pos``): one outer difference gives every
pair's offset. Not modelled (listed in docs/envs.md): the game's pathing and smooth separation, acceleration and turn
rates, the damage point / backswing of attacks, missile travel, target priorities beyond "closest", and the leash that
makes idle units return to where they stood.
"""

from __future__ import annotations

import numpy as np

from envs.sim.army import ATTACK, FOLLOW, HOLD, IDLE, MOVE, TARGET, CombatWorld

_FAR = 1e9
"""Edge distance written for pairs that do not interact (a unit with itself, dead units)."""
_TOUCH = 0.1
"""A follow order ends when the edges are this close."""
_COINCIDENT_ANGLE = 2.399963
"""Units on the very same point are pushed apart along angles ``(i - j) * golden angle``: deterministic, never 0."""
_AUTO = np.zeros(6, bool)
_AUTO[[IDLE, ATTACK, HOLD]] = True
"""Order kinds under which a unit picks its own targets."""
_WALK = np.zeros(6, bool)
_WALK[[MOVE, ATTACK]] = True
"""Order kinds that walk to a point."""
_NONE = np.zeros(0, np.int64)
_TWO_PI = 2 * np.pi


class Pairs:
    """What the combat step computes once per set of slots (``CombatWorld.pairs``; :meth:`CombatWorld.spawn` /
    :meth:`~CombatWorld.compact` drop it): per pair the sum of radii, whether the two are enemies, and the centre
    distance at which a chasing unit has its target in weapon range; the slots' row offsets into flattened ``(N, N)``
    matrices; the flat indices of the pairs that never interact (a unit with itself, a dead unit), for the units alive
    at :attr:`alive`; each unit's distance per tick; the playable area's corners."""

    def __init__(self, world: CombatWorld):
        n, c = len(world), world.constants
        radius = c["radius"]
        self.radii = radius[:, None] + radius[None, :]
        self.enemies = world.owner[:, None] != world.owner[None, :]
        self.chase_stop = self.radii + c["range"][:, None] - 1e-9
        """``(radii + range) - 1e-9``, as ``_move`` computed it per unit."""
        self.rows = np.arange(n)
        self.flat = self.rows * n
        self.alive = b""
        self.blocked = self.flat + self.rows
        self._speed: dict[int, np.ndarray] = {}
        self.suicide = bool(np.count_nonzero(c["suicide"]))
        """Whether any unit attacks by bursting (Baneling)."""
        x0, y0, x1, y1 = world.playable
        self.low, self.high = np.array([x0, y0], np.float64), np.array([x1, y1], np.float64)

    def update(self, world: CombatWorld) -> None:
        """Follow the deaths: the pairs of dead units do not interact."""
        alive = world.alive.tobytes()
        if alive != self.alive:
            n = len(self.rows)
            blocked = ~world.alive[:, None] | ~world.alive[None, :]
            blocked.ravel()[:: n + 1] = True
            self.blocked, self.alive = np.flatnonzero(blocked), alive

    def speed(self, world: CombatWorld, loops: int) -> np.ndarray:
        """Each unit's distance per tick of ``loops`` game loops."""
        speed = self._speed.get(loops)
        if speed is None:
            speed = self._speed[loops] = world.constants["speed"] * loops
        return speed


def step(world: CombatWorld, loops: int = 1) -> np.ndarray:
    """Advance ``world`` by ``loops`` game loops as one tick (movement, cooldowns and regeneration scaled by ``loops``;
    targets, attacks and deaths resolved once); returns the slots of the units that died ``(D,)``."""
    n = len(world)
    if n == 0:
        return _NONE
    c, alive, kind = world.constants, world.alive, world.order_kind
    if world.pairs is None:
        world.pairs = Pairs(world)
    pairs = world.pairs
    pairs.update(world)
    radii, enemies, flat = pairs.radii, pairs.enemies, pairs.flat  # flat: row offsets into flattened (N, N) matrices
    z = world.pos.view(np.complex128).ravel()  # x + iy, a view: writes move the units
    offset = z[:, None] - z[None, :]  # z_i - z_j
    dist = np.abs(offset)
    edge = dist - radii
    edge.ravel()[pairs.blocked] = _FAR  # a unit with itself, dead units

    # 0. collisions
    overlap = edge < 0
    if np.count_nonzero(overlap):
        _separate(world, z, edge, dist, offset, overlap, pairs)

    # 1. targets
    counts = np.bincount(kind, minlength=len(_AUTO)).tolist()  # plain ints: cheap tests of which orders exist
    any_hold, any_target = counts[HOLD] > 0, counts[TARGET] > 0
    holding = kind == HOLD if any_hold else None
    explicit = kind == TARGET if any_target else None
    target = np.where(explicit, world.order_slot, world.engaged) if any_target else world.engaged.copy()
    auto = _AUTO[kind] & alive
    keep = np.where(holding, c["range"], c["sight"]) if any_hold else c["sight"]
    need = auto & ((target < 0) | (edge.take(flat + target) > keep))
    if np.count_nonzero(need):
        reach = np.where(holding, c["range"], c["scan"]) if any_hold else c["scan"]
        candidates = np.where(enemies & (edge <= reach[:, None]), edge, _FAR)
        best = candidates.argmin(axis=1)
        target = np.where(need, np.where(candidates.take(flat + best) < _FAR, best, -1), target)
    lost = None
    if any_target:
        lost = explicit & alive & ~alive[target]
        target = np.where((auto | explicit) & ~lost, target, -1)
    else:
        target = np.where(auto, target, -1)

    # 2. attacks
    has = target >= 0
    in_range = has & (edge.take(flat + target) <= c["range"])
    fire = in_range & (world.cooldown <= 0)
    health = world.health
    if np.count_nonzero(fire):
        _fire(world, z, fire.nonzero()[0], target, dist, edge, kind)

    # 3. movement
    chase = has & ~in_range
    if any_hold:
        chase &= ~holding
    any_walk, any_follow = counts[MOVE] + counts[ATTACK] > 0, counts[FOLLOW] > 0
    done = lost
    if any_walk or any_follow or np.count_nonzero(chase):
        walk = ~has & _WALK[kind] if any_walk else None
        done = _move(world, z, loops, target, chase, walk, any_follow, pairs)
        if lost is not None:
            done |= lost

    # 4. deaths, regeneration, cooldowns
    dead = (alive & (health <= 0)).nonzero()[0]
    if len(dead):
        alive[dead] = False
        target[dead] = -1
    np.minimum(health + c["regeneration"] * (alive * loops), c["health_max"], out=health)
    np.maximum(world.cooldown - loops, -1.0, out=world.cooldown)
    world.engaged = np.where(auto, target, -1)
    if done is not None and np.count_nonzero(done):
        for slot in (done & alive).nonzero()[0].tolist():
            world.finish_order(slot)
    return dead


def _move(world: CombatWorld, z: np.ndarray, loops: int, target: np.ndarray, chase: np.ndarray,
          walk: np.ndarray | None, any_follow: bool, pairs: Pairs) -> np.ndarray:  # fmt: skip
    """Move the units (chasing their ``target`` into range, walking to their order's point, following their order's
    unit) by up to ``loops`` loops of their speed; returns which orders ended on arrival ``(N,)`` bool."""
    c, alive = world.constants, world.alive
    follow = world.order_kind == FOLLOW if any_follow else None
    towards = np.where(follow, world.order_slot, target) if any_follow else target
    hunt = chase | follow if any_follow else chase
    goal = np.where(hunt, z[towards], z)
    if walk is not None:
        goal = np.where(walk, world.order_point.view(np.complex128).ravel(), goal)
    index = pairs.flat + towards
    stop = np.where(chase, pairs.chase_stop.take(index), 0.0)
    if any_follow:
        stop = np.where(follow, pairs.radii.take(index) + _TOUCH, stop)
    delta = goal - z
    gap = np.abs(delta)
    speed = pairs.speed(world, loops)
    stride = np.minimum(np.maximum(gap - stop, 0.0), speed) * alive
    moving = stride > 0
    if np.count_nonzero(moving):
        z += delta * np.divide(stride, gap, out=np.zeros(len(z)), where=moving)
        world.facing = np.where(moving, np.arctan2(delta.imag, delta.real) % _TWO_PI, world.facing)  # np.angle
    arrived = (follow & (gap - stop <= speed)) if any_follow else np.zeros(len(z), bool)
    if walk is not None:
        arrived |= walk & (gap <= speed)
    return arrived & alive


def _fire(world: CombatWorld, z: np.ndarray, shooters: np.ndarray, target: np.ndarray, dist: np.ndarray,
          edge: np.ndarray, kind: np.ndarray) -> None:  # fmt: skip
    """The ``shooters`` fire at their ``target`` (splash for suicide units); idle units without a target answer an
    attack on themselves or on an ally whose attacker they can see."""
    c, health, n = world.constants, world.health, len(world)
    enemies = world.pairs.enemies
    if world.pairs.suicide:
        suicide = c["suicide"][shooters] > 0
        single, burst = shooters[~suicide], shooters[suicide]
    else:
        single, burst = shooters, _NONE
    victims = target[single]
    dealt = np.maximum(c["damage"][single] + c["bonus"][single] * c["light"][victims] - c["armor"][victims], 0.5)
    damage = np.bincount(victims, dealt, minlength=n).astype(np.float64, copy=False)
    if len(burst):
        area = enemies[burst] & world.alive[None, :] & (dist[burst] - c["radius"][None, :] <= c["splash"][burst][:, None])
        per = c["damage"][burst][:, None] + c["bonus"][burst][:, None] * c["light"][None, :] - c["armor"][None, :]
        damage += (np.maximum(per, 0.5) * area).sum(axis=0)
        health[burst] = 0.0
    health -= damage
    cooldown = world.cooldown
    cooldown[shooters] = np.minimum(cooldown[shooters], 0.0) + c["period"][shooters]
    free = (kind == IDLE) & (target < 0) & world.alive
    if len(single) and np.count_nonzero(free):
        owner = world.owner
        helps = free[:, None] & (owner[:, None] == owner[victims][None, :]) & (edge[:, single] <= c["sight"][:, None])
        helps[victims, np.arange(len(single))] = free[victims]  # the victim itself answers whatever its sight
        helpers = helps.any(axis=1).nonzero()[0]
        target[helpers] = single[helps[helpers].argmax(axis=1)]
    if len(single):
        heading = z[victims] - z[single]
        world.facing[single] = np.arctan2(heading.imag, heading.real) % _TWO_PI  # np.angle


def _separate(world: CombatWorld, z: np.ndarray, edge: np.ndarray, dist: np.ndarray, offset: np.ndarray,
              overlap: np.ndarray, pairs: Pairs) -> None:  # fmt: skip
    """Push overlapping living units apart (half the overlap each, ``edge < 0``), then clip into the playable area."""
    same = overlap & (dist <= 1e-9)
    if np.count_nonzero(same):  # coincident centres: a fixed direction per pair
        rows = pairs.rows
        offset = np.where(same, np.exp(1j * (rows[:, None] - rows[None, :]) * _COINCIDENT_ANGLE), offset)
        dist = np.where(same, 1.0, dist)
    z += (offset * np.divide(-0.5 * edge, dist, out=np.zeros(edge.shape), where=overlap)).sum(axis=1)
    np.minimum(np.maximum(world.pos, pairs.low), pairs.high, out=world.pos)
