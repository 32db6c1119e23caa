"""Unit statistics of the combat minigames' four units: Marine, Roach, Zergling, Baneling (no upgrades).

One :class:`UnitStats` per unit type, in :data:`UNIT_STATS` (keyed by pysc2's unit type id). Times are game seconds
at the "faster" game speed (the ladder speed, 22.4 game loops per real second, which Liquipedia quotes); the
simulator converts them to game loops (:attr:`UnitStats.cooldown_loops`, :attr:`UnitStats.speed_per_loop`).

Sources, per column:

- hit points, armor, attributes (Light), damage and bonus damage, weapon range, movement speed, sight: Liquipedia's
  unit pages (liquipedia.net/starcraft2/Marine, /Roach, /Zergling, /Baneling; Legacy of the Void, current patch),
  which quote the game's balance data;
- attack cooldown: the game's weapon data (``WeaponData.xml`` of the Liberty/Swarm mods, ``Period`` in normal-speed
  game seconds, as extracted in BurnySc2/sc2-techtree ``src/json/WeaponData.json``): GuassRifle 0.8608, AcidSaliva 2,
  Claws 0.696, VolatileBurst 0.833, divided by 1.4 for "faster" (Liquipedia: 0.61, 1.43, 0.497, -);
- acquisition ("scan") range: the same weapon data's ``MinScanRange``: GuassRifle 5.5; AcidSaliva, Claws and
  VolatileBurst set none and take ``<CWeapon default="1">``'s ``MinScanRange`` 5 (``core/WeaponData.xml``,
  SC2Mapster/SC2GameData @5bdb2af; read as the acquisition range ``max(Range, MinScanRange)``: how the engine combines
  the two is not documented);
- radius: the game's unit data as the SC2 API reports it in ``Unit.radius`` (Marine, Zergling, Baneling 0.375;
  Roach 0.625);
- damage point (the delay from the start of an attack to its effect): the same weapon data's ``DamagePoint``
  (normal-speed seconds, divided by 1.4), GuassRifle 0.05 (``liberty/WeaponData.xml``); AcidSaliva and Claws set none
  and take the ``<CWeapon default="1">`` value 0.167 of ``core/WeaponData.xml``; VolatileBurst 0 (SC2Mapster/SC2GameData,
  ``mods/<mod>.sc2mod/base.sc2data/GameData/``, liberty @1f84898, core @5bdb2af);
- missile: AcidSaliva's effect ``AcidSalivaLM`` is a ``CEffectLaunchMissile`` (ammo unit ``AcidSalivaWeapon``, impact
  effect ``AcidSalivaU``; ``liberty/EffectData.xml`` @07a3f02) whose mover ``AcidSalivaWeapon`` (``liberty/MoverData.xml``
  @5bdb2af, as core's ``MissileDefault``) is a ``Guidance`` driver (it homes on its target) with ``MaxSpeed`` 18.75 and
  ``Acceleration`` 3200 (full speed after 0.006 s: taken as constant) per normal-speed second, times 1.4 for "faster";
  launched from the source unit, impact on the target unit (the ``CEffectLaunchMissile`` defaults of
  ``core/EffectData.xml``). Gauss rifle, claws and the Baneling's burst have no missile;
- splash: Liquipedia's Baneling page (Volatile Burst: 16 (+19 vs Light) to every enemy ground unit within 2.2,
  full damage, no friendly damage; the Baneling dies). Zerg life regeneration: 0.38 hit points per second
  ("faster"), Liquipedia's Zerg race page; Terran units do not regenerate.

How the damage point and the missile act: :mod:`envs.sim.combat.shots`. Not modelled: backswing (the animation after
the damage point, which an order cancels), the weapons' random delay between attacks (``RandomDelayMin`` / ``Max``,
-0.0625..+0.125 s), acceleration and turning, the Roach's minimum range 0.6 (it switches to a melee weapon below it,
same damage and cooldown).
"""

from __future__ import annotations

from dataclasses import dataclass

LOOPS_PER_SECOND = 22.4
"""Game loops per game second at the "faster" speed (16 per normal-speed game second, times 1.4)."""


@dataclass(frozen=True)
class UnitStats:
    """One unit type's combat statistics (see the module docstring for the source of each)."""

    name: str
    unit_type: int
    """pysc2's unit type id (``units.Terran.Marine`` = 48, ...)."""
    health: float
    armor: float
    light: bool
    """The Light attribute (Volatile Burst's bonus damage applies)."""
    damage: float
    bonus_vs_light: float
    cooldown: float
    """Seconds between attacks ("faster")."""
    range: float
    """Weapon range, between the edges of the two units' circles."""
    scan_range: float
    """Idle and attack-moving units acquire targets whose edge is within this distance (>= range)."""
    speed: float
    """Movement speed, map units per second ("faster")."""
    radius: float
    sight: float
    splash: float = 0.0
    """Radius of the area damage around the unit's centre when it attacks (0: single target)."""
    suicide: bool = False
    """The attack kills the attacker (Baneling)."""
    regeneration: float = 0.0
    """Hit points regenerated per second ("faster")."""
    damage_point: float = 0.0
    """Seconds ("faster") from the start of an attack to its effect (the damage, or the missile's launch)."""
    missile_speed: float = 0.0
    """Speed of the attack's missile, map units per second ("faster"); 0: no missile."""

    @property
    def cooldown_loops(self) -> float:
        return self.cooldown * LOOPS_PER_SECOND

    @property
    def speed_per_loop(self) -> float:
        return self.speed / LOOPS_PER_SECOND

    @property
    def regeneration_per_loop(self) -> float:
        return self.regeneration / LOOPS_PER_SECOND

    @property
    def damage_point_loops(self) -> float:
        return self.damage_point * LOOPS_PER_SECOND

    @property
    def missile_speed_per_loop(self) -> float:
        return self.missile_speed / LOOPS_PER_SECOND


_ZERG_REGENERATION = 0.38
_DEFAULT_DAMAGE_POINT = 0.167 / 1.4
"""``<CWeapon default="1">``'s ``DamagePoint`` (``core/WeaponData.xml``), for the weapons that set none."""

MARINE = UnitStats(
    "Marine", 48, health=45, armor=0, light=True, damage=6, bonus_vs_light=0, cooldown=0.8608 / 1.4, range=5,
    scan_range=5.5, speed=3.15, radius=0.375, sight=9, damage_point=0.05 / 1.4,
)  # fmt: skip
ROACH = UnitStats(
    "Roach", 110, health=145, armor=1, light=False, damage=16, bonus_vs_light=0, cooldown=2.0 / 1.4, range=4,
    scan_range=5.0, speed=3.15, radius=0.625, sight=9, regeneration=_ZERG_REGENERATION,
    damage_point=_DEFAULT_DAMAGE_POINT, missile_speed=18.75 * 1.4,
)  # fmt: skip
ZERGLING = UnitStats(
    "Zergling", 105, health=35, armor=0, light=True, damage=5, bonus_vs_light=0, cooldown=0.696 / 1.4, range=0.1,
    scan_range=5.0, speed=4.13, radius=0.375, sight=8, regeneration=_ZERG_REGENERATION,
    damage_point=_DEFAULT_DAMAGE_POINT,
)  # fmt: skip
BANELING = UnitStats(
    "Baneling", 9, health=30, armor=0, light=False, damage=16, bonus_vs_light=19, cooldown=0.833 / 1.4, range=0.25,
    scan_range=5.0, speed=3.5, radius=0.375, sight=8, splash=2.2, suicide=True, regeneration=_ZERG_REGENERATION,
)  # fmt: skip

UNIT_STATS: dict[int, UnitStats] = {s.unit_type: s for s in (MARINE, ROACH, ZERGLING, BANELING)}
"""The simulated unit types by pysc2 unit type id."""
