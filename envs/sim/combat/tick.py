"""One combat tick, vectorised over the units of a :class:`~envs.sim.combat.world.CombatWorld` (numpy, no per-pair
Python loop). The map rules advance the world in ticks of 2 game loops (:attr:`envs.sim.combat.rules.CombatRules.TICK`).

The model, in the order a tick applies it to every unit at once (distances between the edges of the units' circles
unless said otherwise):

0. **Collisions.** Overlapping circles of living units are pushed apart (half the overlap each, along the line of
   their centres) and kept inside the playable area.
1. **Targets.** A unit with an attack-unit order (``TARGET``) targets that unit. A unit that is idle, attack-moving
   or holding position keeps the enemy it engages while that one lives and stays within its sight (holding: its
   weapon range); otherwise it acquires the closest living enemy within its acquisition range (``scan_range``;
   holding: weapon range). Moving and following units target nothing. The enemy player has no AI: its units are
   idle units under this rule, as in the maps, where player 2 gets no orders.
2. **Attacks.** A unit whose target is within its weapon range and whose weapon is ready starts an attack: damage
   ``max(damage + bonus_vs_light * light - armor, 0.5)`` lands after the weapon's damage point, and after a missile's
   flight for missile weapons, on the target if it still lives (:mod:`envs.sim.combat.shots`; the attacker stands
   still meanwhile), and the weapon cools down for the unit's cooldown from the attack's start (in game loops,
   fractions carried over). A suicide unit (Baneling)
   instead damages every enemy whose circle reaches within ``splash`` of its centre, full damage, then dies. An idle
   unit without a target that is attacked acquires its attacker, and so do its idle allies without a target whose
   circle reaches within :data:`CALL_FOR_HELP_RADIUS` of its centre (the game's weapon damage effects,
   ``<CEffectDamage default="1" id="DU_WEAP">`` of ``core/EffectData.xml``, set ``ResponseFlags Acquire`` and
   ``SearchFlags CallForHelp``; ``<CGame default="1">`` of ``core/GameData.xml``: ``CallForHelpRadius`` 4; both in
   SC2Mapster/SC2GameData). The response is given when the attack starts (the game: when the damage lands, up to
   7 game loops later for the Roach's acid), and every time (the game calls for help at most every
   ``CallForHelpPeriod`` 2 s).
3. **Movement.** Units not firing move at their speed (straight, no pathing: the maps are open): towards their target
   until it is in weapon range (not when holding), else towards their order's point or unit. A move or attack-move
   order ends on arrival; a follow order when touching its unit; an attack-unit order when its target dies.
4. **Deaths and regeneration.** Units at or below 0 hit points die; living units regenerate (Zerg: 0.38 per second).

Positions are handled as complex numbers ``x + iy`` (a view of ``CombatWorld.pos``): one outer difference gives every
pair's offset. Not modelled (listed in docs/envs.md): the game's pathing and smooth separation, acceleration and turn
rates, the backswing of attacks, target priorities beyond "closest", and the leash that makes idle units return to
where they stood.
"""

from __future__ import annotations

import numpy as np

from envs.sim.combat.world import ATTACK, FOLLOW, HOLD, IDLE, MOVE, TARGET, CombatWorld

_FAR = 1e9
"""Edge distance of no candidate target (the pairs that do not interact have edge distance ``inf``, see ``Pairs``)."""
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
CALL_FOR_HELP_RADIUS = 4.0
"""Idle allies within this distance of an attacked unit's centre answer the attack (``CallForHelpRadius``)."""
# The step is bound by the number of numpy calls on ~13 units, not by arithmetic: what does not change between ticks is
# cached (Pairs, Kinds), and on bool arrays ``np.greater(a, b)`` stands for ``a & ~b`` (one call, not two).


class Pairs:
    """What the combat step computes once per set of slots (``CombatWorld.pairs``; :meth:`CombatWorld.spawn` /
    :meth:`~CombatWorld.compact` drop it): per pair the sum of radii, whether the two are enemies, and the centre
    distance at which a chasing unit has its target in weapon range; the slots' row offsets into flattened ``(N, N)``
    matrices; the sums of radii with ``-inf`` for the pairs that never interact (a unit with itself, a dead unit), for
    the units alive at :attr:`alive`, and the regeneration per tick at that; each unit's distance per tick; the playable
    area's corners."""

    def __init__(self, world: CombatWorld):
        n, c = len(world), world.constants
        radius = c["radius"]
        self.radii = radius[:, None] + radius[None, :]
        self.enemies = world.owner[:, None] != world.owner[None, :]
        self.chase_stop = self.radii + c["range"][:, None] - 1e-9
        """``(radii + range) - 1e-9``, as ``_move`` computed it per unit."""
        per_shot = c["damage"][:, None] + c["bonus"][:, None] * c["light"][None, :] - c["armor"][None, :]
        self.dealt = np.maximum(per_shot, 0.5)
        """Damage of one attack of unit ``i`` on unit ``j`` (``_fire``'s formula per shot: the same floats)."""
        self.rows = np.arange(n)
        self.flat = self.rows * n
        self.alive = b""
        self.edge_radii = self.radii
        """``radii``, ``-inf`` for the pairs that do not interact: ``distance - edge_radii`` is their edge distance, and
        ``inf`` (farther than every range) for those, in one subtraction."""
        self._regeneration: dict[int, np.ndarray] = {}
        self._kinds: tuple[bytes, Kinds] | None = None
        self._views: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
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
            self.edge_radii, self.alive = np.where(blocked, -np.inf, self.radii), alive
            self._regeneration = {}
            self._kinds = None

    def complex_views(self, world: CombatWorld) -> tuple[np.ndarray, np.ndarray]:
        """``world.pos`` and ``world.order_point`` as complex ``x + iy`` views ``(N,)`` (writes move the units), kept
        while the world keeps its arrays."""
        views = self._views
        if views is None or views[0] is not world.pos or views[1] is not world.order_point:
            as_complex = [a.view(np.complex128).ravel() for a in (world.pos, world.order_point)]
            views = self._views = (world.pos, world.order_point, *as_complex)
        return views[2], views[3]

    def kinds(self, world: CombatWorld) -> Kinds:
        """The :class:`Kinds` of ``world``'s orders now (after :meth:`update`: the units alive at :attr:`alive`)."""
        key = world.order_kind.tobytes()
        if self._kinds is None or self._kinds[0] != key:
            self._kinds = (key, Kinds(world))
        return self._kinds[1]

    def regeneration(self, world: CombatWorld, loops: int) -> np.ndarray:
        """Each unit's regeneration in a tick of ``loops`` game loops (0 when dead), for the units alive at
        :attr:`alive`."""
        regeneration = self._regeneration.get(loops)
        if regeneration is None:
            regeneration = self._regeneration[loops] = world.constants["regeneration"] * (world.alive * loops)
        return regeneration

    def speed(self, world: CombatWorld, loops: int) -> np.ndarray:
        """Each unit's distance per tick of ``loops`` game loops."""
        speed = self._speed.get(loops)
        if speed is None:
            speed = self._speed[loops] = world.constants["speed"] * loops
        return speed


class Kinds:
    """What the combat step derives from the units' order kinds and which units live (``Pairs.kinds``: kept while
    neither changes, i.e. between commands, finished orders and deaths): how many units have each kind, and per unit
    whether it holds, attacks a unit (``explicit``), picks its own targets (``auto``, living units), ..."""

    def __init__(self, world: CombatWorld):
        kind, alive, c = world.order_kind, world.alive, world.constants
        self.counts = np.bincount(kind, minlength=len(_AUTO)).tolist()  # plain ints: cheap tests of what exists
        self.any_hold, self.any_target = self.counts[HOLD] > 0, self.counts[TARGET] > 0
        self.any_walk, self.any_follow = self.counts[MOVE] + self.counts[ATTACK] > 0, self.counts[FOLLOW] > 0
        self.holding = kind == HOLD if self.any_hold else None
        self.explicit = kind == TARGET if self.any_target else None
        self.auto = _AUTO[kind] & alive
        self.acting = self.auto | self.explicit if self.any_target else self.auto
        """Units that keep a target: ``auto`` or ``explicit``."""
        self.explicit_alive = self.explicit & alive if self.any_target else None
        self.keep = np.where(self.holding, c["range"], c["sight"]) if self.any_hold else c["sight"]
        """How far an engaged target may go before the unit looks for another."""
        self.reach = np.where(self.holding, c["range"], c["scan"]) if self.any_hold else c["scan"]
        """How far the unit looks for a target."""
        self.walking = _WALK[kind] & alive if self.any_walk else None
        self.follow = kind == FOLLOW if self.any_follow else None
        self.idle_alive = (kind == IDLE) & alive


def step(world: CombatWorld, loops: int = 1) -> np.ndarray:
    """Advance ``world`` by ``loops`` game loops as one tick (movement, cooldowns and regeneration scaled by ``loops``;
    targets, attacks and deaths resolved once); returns the slots of the units that died ``(D,)``."""
    n = len(world)
    if n == 0:
        return _NONE
    c, alive = world.constants, world.alive
    if world.pairs is None:
        world.pairs = Pairs(world)
    pairs = world.pairs
    pairs.update(world)
    enemies, flat = pairs.enemies, pairs.flat  # flat: row offsets into flattened (N, N) matrices
    z, points = pairs.complex_views(world)  # x + iy, views: writes move the units
    offset = np.subtract.outer(z, z)  # z_i - z_j
    dist = np.abs(offset)
    edge = dist - pairs.edge_radii  # inf: a unit with itself, dead units

    # 0. collisions
    overlap = edge < 0
    if np.count_nonzero(overlap):
        _separate(world, z, edge, dist, offset, overlap, pairs)

    # 1. targets
    kinds = pairs.kinds(world)
    any_hold, any_target, holding, auto = kinds.any_hold, kinds.any_target, kinds.holding, kinds.auto
    target = np.where(kinds.explicit, world.order_slot, world.engaged) if any_target else world.engaged.copy()
    need = auto & ((target < 0) | (edge.take(flat + target) > kinds.keep))
    if np.count_nonzero(need):
        candidates = np.where(enemies & (edge <= kinds.reach[:, None]), edge, _FAR)
        best = candidates.argmin(axis=1)
        target = np.where(need, np.where(candidates.take(flat + best) < _FAR, best, -1), target)
    lost = None
    if any_target:
        lost = np.greater(kinds.explicit_alive, alive[target])  # explicit & alive & ~alive[target]
        target = np.where(np.greater(kinds.acting, lost), target, -1)
    else:
        target = np.where(auto, target, -1)

    # 2. attacks
    has = target >= 0
    in_range = has & (edge.take(flat + target) <= c["range"])
    fire = in_range & (world.cooldown <= 0)
    health = world.health
    if np.count_nonzero(fire):
        _fire(world, z, fire.nonzero()[0], target, dist, kinds.idle_alive, loops)
    shots = world.shots
    if len(shots):
        landed = shots.resolve(z, c["radius"], alive, loops)
        if landed is not None:
            health -= landed
        winding = shots.winding(n) if len(shots) else None
    else:
        winding = None

    # 3. movement
    # living units only (dead ones do not move: _move scales by alive), so that most ticks, where nobody chases or
    # walks, skip _move
    chase = np.greater(has, in_range) & alive
    if any_hold:
        chase &= ~holding
    if winding is not None:  # winding up an attack: standing still
        chase &= ~winding
    done = lost
    walk = np.greater(kinds.walking, has) if kinds.any_walk else None  # walking to their point: no target now
    if walk is not None and winding is not None:
        walk &= ~winding
    if walk is not None and not np.count_nonzero(walk):
        walk = None
    if walk is not None or kinds.any_follow or np.count_nonzero(chase):
        done = _move(world, z, points, loops, target, chase, walk, kinds.follow, pairs)
        if lost is not None:
            done |= lost

    # 4. deaths, regeneration, cooldowns
    dead = (alive & (health <= 0)).nonzero()[0]
    if len(dead):
        alive[dead] = False
        target[dead] = -1
    # deaths in this tick: not the units alive at the tick's start, for which the product is cached
    regeneration = c["regeneration"] * (alive * loops) if len(dead) else pairs.regeneration(world, loops)
    np.minimum(health + regeneration, c["health_max"], out=health)
    np.maximum(world.cooldown - loops, -1.0, out=world.cooldown)
    world.engaged = np.where(auto, target, -1)
    if done is not None and np.count_nonzero(done):
        for slot in (done & alive).nonzero()[0].tolist():
            world.finish_order(slot)
    return dead


def _move(world: CombatWorld, z: np.ndarray, points: np.ndarray, loops: int, target: np.ndarray, chase: np.ndarray,
          walk: np.ndarray | None, follow: np.ndarray | None, pairs: Pairs) -> np.ndarray:  # fmt: skip
    """Move the units (chasing their ``target`` into range, walking to their order's ``points``, following their order's
    unit: ``follow``, None when none does) by up to ``loops`` loops of their speed; returns which orders ended on
    arrival ``(N,)`` bool."""
    alive = world.alive
    any_follow = follow is not None
    towards = np.where(follow, world.order_slot, target) if any_follow else target
    hunt = chase | follow if any_follow else chase
    goal = np.where(hunt, z[towards], z)
    if walk is not None:
        goal = np.where(walk, points, goal)
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
    arrived = follow & (gap - stop <= speed) if any_follow else None
    if walk is not None:
        walked = walk & (gap <= speed)
        arrived = walked if arrived is None else arrived | walked
    return np.zeros(len(z), bool) if arrived is None else arrived & alive


def _fire(world: CombatWorld, z: np.ndarray, shooters: np.ndarray, target: np.ndarray, dist: np.ndarray,
          idle: np.ndarray, loops: int) -> None:  # fmt: skip
    """The ``shooters`` start an attack on their ``target`` (splash for suicide units): the damage lands now where
    the damage point ends within this tick of ``loops`` game loops and no missile flies, else the attack joins
    ``world.shots``; idle units (``idle``: living, no order) without a target answer an attack on themselves or on an
    ally within :data:`CALL_FOR_HELP_RADIUS`."""
    c, health, n = world.constants, world.health, len(world)
    enemies = world.pairs.enemies
    if world.pairs.suicide:
        suicide = c["suicide"][shooters] > 0
        single, burst = shooters[~suicide], shooters[suicide]
    else:
        single, burst = shooters, _NONE
    victims = target[single]
    dealt = world.pairs.dealt.take(world.pairs.flat[single] + victims)
    wait, speed = c["damage_point"][single], c["missile_speed"][single]
    late = (wait >= loops / 2) | (speed > 0)
    if np.count_nonzero(late):
        world.shots.add(single[late], victims[late], wait[late], speed[late], dealt[late])
        now = ~late
        damage = np.bincount(victims[now], dealt[now], minlength=n)
    else:
        damage = np.bincount(victims, dealt, minlength=n)
    damage = damage.astype(np.float64, copy=False)
    if len(burst):
        area = (
            enemies[burst] & world.alive[None, :] & (dist[burst] - c["radius"][None, :] <= c["splash"][burst][:, None])
        )
        damage += (world.pairs.dealt[burst] * area).sum(axis=0)
        health[burst] = 0.0
    health -= damage
    cooldown = world.cooldown
    cooldown[shooters] = np.minimum(cooldown[shooters], 0.0) + c["period"][shooters]
    free = idle & (target < 0)
    if len(single) and np.count_nonzero(free):
        owner = world.owner
        near = dist[:, victims] - c["radius"][:, None] <= CALL_FOR_HELP_RADIUS
        helps = free[:, None] & (owner[:, None] == owner[victims][None, :]) & near
        helps[victims, np.arange(len(single))] = free[victims]  # the victim itself answers
        helpers = helps.any(axis=1).nonzero()[0]
        target[helpers] = single[helps[helpers].argmax(axis=1)]
    if len(single):
        heading = z[victims] - z[single]
        world.facing[single] = np.arctan2(heading.imag, heading.real) % _TWO_PI  # np.angle


def _separate(world: CombatWorld, z: np.ndarray, edge: np.ndarray, dist: np.ndarray, offset: np.ndarray,
              overlap: np.ndarray, pairs: Pairs) -> None:  # fmt: skip
    """Push overlapping living units apart (half the overlap each, ``edge < 0``), then clip into the playable area."""
    close = dist <= 1e-9  # the n units with themselves at least; more: maybe coincident overlapping units
    same = overlap & close if np.count_nonzero(close) > len(z) else None
    if same is not None and np.count_nonzero(same):  # coincident centres: a fixed direction per pair
        rows = pairs.rows
        offset = np.where(same, np.exp(1j * (rows[:, None] - rows[None, :]) * _COINCIDENT_ANGLE), offset)
        dist = np.where(same, 1.0, dist)
    z += (offset * np.divide(-0.5 * edge, dist, out=np.zeros(edge.shape), where=overlap)).sum(axis=1)
    np.minimum(np.maximum(world.pos, pairs.low), pairs.high, out=world.pos)
