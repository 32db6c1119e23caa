"""``TimestepConverter``: the ONE place where pysc2 timesteps become the observation contract and
structured actions become pysc2 ``FunctionCall``s. Used unchanged with the real game, the simulator
and pysc2's ``SC2TestEnv``.

Observation (``envs.spec.ObservationSpec``):

- ``entities (N, F)``: one row per raw unit, features in :data:`ENTITY_FEATURES` order (positions in
  grid units / grid size: ``obs_spec.entity_position`` names the columns);
  ``entity_mask``. More than ``N`` units: keep own units first, then enemy, ally, neutral (pysc2's
  order within each group) and drop the rest; the number dropped is ``info["entities_dropped"]``.
- ``spatial (4, H/p, W/p)``: minimap ``player_relative`` == self / neutral / enemy, and ``pathable``, average-pooled
  by ``p = plane_pool`` (the fraction of each p x p block's cells; p = 1: the planes as they are).
- ``scalars (8,)``: :data:`SCALARS`.
- ``action_type_mask``: ``no_op`` always; a function taking ``unit_tags`` needs a selectable unit,
  one taking ``target_unit_tag`` a targetable unit, one taking ``world`` a legal location. (pysc2 does
  not report ``available_actions`` in the raw interface, so legality comes from unit ownership.)
- ``selectable_mask``: own units. ``targetable_mask``: every other unit (enemy or neutral).
- ``location_mask (H, W)``: minimap ``pathable``; all ones where the map reports no pathable cell.

Action: see :meth:`TimestepConverter.action`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.maps import Minigame
from envs.pysc2_compat import RAW_FUNCTIONS, FeatureUnit, FunctionCall, MinimapFeatures, PlayerRelative
from envs.spec import ActionSpec, ActionType, ObservationSpec, check_action

UNIT_TYPES: tuple[int, ...] = (48, 317, 1680, 105, 9, 110, 45, 18, 341, 342, 20, 19, 21)
"""Unit types with their own one-hot slot: Marine, Beacon, MineralShard, Zergling, Baneling, Roach, SCV,
CommandCenter, MineralField, VespeneGeyser, Refinery, SupplyDepot, Barracks; others share one slot."""
ENTITY_FEATURES = (
    "alliance_self", "alliance_ally", "alliance_neutral", "alliance_enemy",
    *(f"type_{t}" for t in UNIT_TYPES), "type_other",
    "x", "y", "health_ratio", "shield_ratio", "energy_ratio", "radius", "is_selected", "order_length",
    "weapon_cooldown", "mineral_contents", "vespene_contents", "build_progress",
    "order_target_known", "order_target_x", "order_target_y",
)  # fmt: skip
"""The last three: where the unit's current order goes, as far as this env knows (it commanded the order):
the target point (or the target unit's position when commanded) of the command the unit executes now, its
queued commands followed as pysc2's ``order_length`` counts down - AlphaStar's units carry their order queue, and
pysc2's raw units have no order targets. Without it "my order already goes to the beacon" is not a function
of the observation."""
SCALARS = ("time", "minerals", "vespene", "food_used", "food_cap", "army_count", "own_units", "other_units")
SPATIAL = ("self", "neutral", "enemy", "pathable")
_ARG_OF = {"queued": "queued", "unit_tags": "selected_units", "target_unit_tag": "target_unit", "world": "location"}
_COLUMNS = [
    FeatureUnit.x, FeatureUnit.y, FeatureUnit.health_ratio, FeatureUnit.shield_ratio, FeatureUnit.energy_ratio,
    FeatureUnit.radius, FeatureUnit.is_selected, FeatureUnit.order_length, FeatureUnit.weapon_cooldown,
    FeatureUnit.mineral_contents, FeatureUnit.vespene_contents, FeatureUnit.build_progress,
]  # fmt: skip
"""pysc2 raw-unit columns behind the last 12 of ENTITY_FEATURES; x, y divided by the grid size, the rest by:"""
_COLUMN_SCALE = np.array([1, 1, 255, 255, 255, 8, 1, 4, 32, 1800, 2250, 100], np.float64)
# plain ints: IntEnum attribute access costs ~1 us each on the per-step path
_ALLIANCE, _UNIT_TYPE = int(FeatureUnit.alliance), int(FeatureUnit.unit_type)
_TAG, _ORDER_LENGTH, _X, _Y = (
    int(FeatureUnit.tag),
    int(FeatureUnit.order_length),
    int(FeatureUnit.x),
    int(FeatureUnit.y),
)
_COLUMN_INDEX = np.array([int(c) for c in _COLUMNS])  # an index array: a list is converted again at every use
_TAG_LENGTH = np.array([_TAG, _ORDER_LENGTH])
_ORDER = ENTITY_FEATURES.index("order_target_known")
_SELF = int(PlayerRelative.SELF)
_PLAYER_RELATIVE, _PATHABLE = MinimapFeatures.player_relative.index, MinimapFeatures.pathable.index
_RELATIVE_VALUES = np.array([int(PlayerRelative.SELF), int(PlayerRelative.NEUTRAL), int(PlayerRelative.ENEMY)])
_RELATIVE_VALUES = _RELATIVE_VALUES[:, None, None]  # (3, 1, 1): compared with a (H, W) layer, one plane each
_ALLIANCE_PRIORITY = np.array([9, 0, 2, 3, 1, 9])  # index = alliance (1 self, 2 ally, 3 neutral, 4 enemy)
_TYPES = len(UNIT_TYPES) + 1  # one-hot type slots, "other" last
_ONE_HOT = np.zeros((4 * _TYPES, 4 + _TYPES), np.float32)
_ONE_HOT[np.arange(4 * _TYPES), np.arange(4 * _TYPES) // _TYPES] = 1
_ONE_HOT[np.arange(4 * _TYPES), 4 + np.arange(4 * _TYPES) % _TYPES] = 1
"""The alliance and type one-hot columns of every (alliance column, type slot), row ``column * _TYPES + slot``: a unit's
leading columns are one gathered row (one numpy call, not a scatter per group)."""
_ALLIANCE_ROW = np.array([0, 0, 1, 2, 3, 3]) * _TYPES  # alliance (clipped to 0..5) -> its one-hot column's first row
_TYPE_SLOT = np.full(max(UNIT_TYPES) + 2, len(UNIT_TYPES))
_TYPE_SLOT[list(UNIT_TYPES)] = np.arange(len(UNIT_TYPES))
"""unit type -> its one-hot slot; ``np.take(..., mode="clip")`` sends types < 0 to slot 0's entry and larger ones to
the last, both "other" (no unit type 0)."""


@dataclass(frozen=True)
class ContractConfig:
    """Sizes of the contract an SC2 env produces."""

    max_entities: int = 32
    """N: entity slots (minigames have <= 22 units except CollectMineralsAndGas / BuildMarines growth)."""
    max_selected: int = 4
    """M: selected_units pointer steps."""
    spatial_size: int = 64
    """H = W: minimap and raw resolution, also the location grid."""
    plane_pool: int = 1
    """p: the feature planes average-pooled by this factor (``ObservationSpec.plane_pool``); divides H."""


def action_types(functions: tuple[str, ...]) -> tuple[ActionType, ...]:
    """``ActionType`` per RAW function name, the arguments read off pysc2's function spec."""
    out = []
    for name in functions:
        try:
            function = RAW_FUNCTIONS[name]
        except KeyError:
            raise ValueError(f"action function {name!r} is not a pysc2 RAW_FUNCTIONS name") from None
        args = {_ARG_OF[a.name]: True for a in function.args}
        out.append(ActionType(name, **args))
    return tuple(out)


class TimestepConverter:
    """pysc2 ``TimeStep`` -> contract observation + info, structured action -> ``FunctionCall``."""

    def __init__(
        self, game: Minigame, config: ContractConfig = ContractConfig(), functions: tuple[str, ...] | None = None
    ):
        """``functions``: the RAW function names exposed as action types, in index order (default: the
        minigame's ``action_functions``)."""
        self.game, self.config = game, config
        n, s = config.max_entities, config.spatial_size
        if not isinstance(config.plane_pool, int) or config.plane_pool < 1 or s % config.plane_pool:
            raise ValueError(f"plane_pool: expected a positive divisor of spatial_size={s}, got {config.plane_pool!r}")
        self.action_types = action_types(tuple(game.action_functions if functions is None else functions))
        self._functions = [RAW_FUNCTIONS[t.name] for t in self.action_types]
        self.obs_spec = ObservationSpec(
            max_entities=n, entity_features=len(ENTITY_FEATURES), spatial_channels=len(SPATIAL),
            spatial_size=(s, s), plane_pool=config.plane_pool, num_scalars=len(SCALARS),
            num_action_types=len(self.action_types), has_location_mask=True,
            entity_position=(ENTITY_FEATURES.index("x"), ENTITY_FEATURES.index("y")),
            entity_target_position=(_ORDER, _ORDER + 1, _ORDER + 2),
        )  # fmt: skip
        self.act_spec = ActionSpec(
            self.action_types, max_entities=n, max_selected=config.max_selected, spatial_size=(s, s)
        )
        self.action_space = self.act_spec.space()
        """The structured action space (built once: :meth:`action` checks every action against it)."""
        self._uses = self.act_spec.uses_matrix()  # (K, 4) queued, selected_units, target_unit, location
        self._column_scale = (1.0 / np.array([s, s, *_COLUMN_SCALE[2:]])).astype(np.float32).astype(np.float64)
        """float32 scales (the features' precision), as float64: the integer columns times them in float64 as numpy
        promoted ``int64 * float32`` before, without its slower mixed-type loop."""
        self._relative = np.empty((len(SPATIAL) - 1, s, s), bool)
        """Scratch of ``observation``: the self / neutral / enemy planes as bools."""
        self._full = np.empty((len(SPATIAL), s, s), np.float32) if config.plane_pool > 1 else None
        """Scratch of ``observation`` with pooled planes: the planes at full resolution."""
        self._rows = np.zeros(0, np.int64)
        self._kept = np.zeros((0, len(FeatureUnit)), np.int64)
        self._order_targets: dict[int, list[tuple[int, int]]] = {}
        """unit tag -> grid cell ``(x, y)`` of the last command this env gave it (see ENTITY_FEATURES)."""
        self._obs: dict[str, np.ndarray] | None = None
        self._pathable: tuple[str, bytes] | None = None
        """dtype and bytes of the last ``pathable`` layer, which ``_pathable_plane`` and ``_location`` follow."""
        self._pathable_plane: np.ndarray | None = None
        self._location: np.ndarray | None = None
        have = np.array([[[True, sel, tgt, True] for tgt in (False, True)] for sel in (False, True)])
        self._action_masks = np.all(~self._uses | have[:, :, None, :], axis=3).astype(np.int8)
        """``[any selectable, any targetable]`` -> ``action_type_mask``: no_op always, a function's unit arguments
        need such units (``queued`` and ``location`` always have a value)."""

    # ----------------------------------------------------------------------------------- observation
    def observation(self, timestep) -> tuple[dict[str, np.ndarray], dict]:
        """``(obs, info)`` of one pysc2 timestep. Every pysc2 field read is checked before any cast
        (:func:`_int_field`): a missing field, a non-numeric dtype, a wrong shape, NaN / inf or a fraction in
        an integer field raises ``ValueError`` naming the field."""
        o = timestep.observation
        n, s = self.config.max_entities, self.config.spatial_size
        raw = _int_field(o, "raw_units", (None, len(FeatureUnit)))
        minimap = _int_field(o, "feature_minimap", (None, s, s), min_leading=max(_PLAYER_RELATIVE, _PATHABLE) + 1)
        player = _int_field(o, "player", (11,)).tolist()  # plain list: NamedNumpyArray indexing is slow
        game_loop = int(_int_field(o, "game_loop", (1,))[0])
        score = _int_field(o, "score_cumulative", (13,))
        if timestep.first():
            self._order_targets.clear()
        clipped = np.minimum(raw[:, _ALLIANCE], 5)  # alliance clipped as the priority and one-hot tables need it
        order = _ALLIANCE_PRIORITY[clipped].argsort(kind="stable")  # methods: no numpy dispatch wrappers per call
        self._rows = order[:n]
        kept = self._kept = raw.take(self._rows, axis=0)
        k = len(kept)
        entities = np.zeros((n, len(ENTITY_FEATURES)), np.float32)
        kept_alliance = clipped[self._rows]
        self._entity_features(kept, kept_alliance, entities[:k])
        self._order_features(raw, kept, entities)
        mask = np.zeros(n, np.int8)
        mask[:k] = 1
        own = kept_alliance == _SELF  # clipped to 5: equal to _SELF (1) where the alliance is
        selectable = np.zeros(n, np.int8)
        selectable[:k] = own
        targetable = mask - selectable
        n_own = int(np.count_nonzero(own))

        spatial = np.empty((len(SPATIAL), s, s), np.float32) if self._full is None else self._full
        rel, pathable = minimap[_PLAYER_RELATIVE], minimap[_PATHABLE]
        # the 3 planes in one comparison, in the layer's own integer type (mixed types take numpy's slow buffered
        # loop) and to bool (a float32 output is cast through a buffer too); then one cast to float32
        np.equal(rel, _RELATIVE_VALUES.astype(rel.dtype), out=self._relative)
        spatial[:3] = self._relative
        key = (pathable.dtype.str, pathable.tobytes())  # a memcmp: cheaper than np.array_equal
        if key != self._pathable:  # static on every map we know
            self._pathable = key
            self._pathable_plane = (pathable > 0).astype(np.float32)
            self._location = (pathable > 0).astype(np.int8) if pathable.any() else np.ones((s, s), np.int8)
        spatial[3] = self._pathable_plane
        if self._full is not None:  # block sums, then one division: the numbers torch's AvgPool2d gives
            p = self.config.plane_pool
            spatial = spatial.reshape(len(SPATIAL), s // p, p, s // p, p).sum(axis=(2, 4), dtype=np.float32)
            spatial /= np.float32(p * p)
        location = self._location.copy()

        n_self = int(np.count_nonzero(clipped == _SELF))
        scalars = np.array(
            [
                game_loop / self.game.game_loops, player[1] / 1000.0, player[2] / 1000.0,
                player[3] / 200.0, player[4] / 200.0, player[8] / 100.0, n_self / n, (len(raw) - n_self) / n,
            ],
            np.float32,
        )  # fmt: skip
        action_mask = self._action_masks[int(n_own > 0), int(k > n_own)].copy()  # any selectable, any targetable unit
        obs = {
            "entities": entities, "entity_mask": mask, "spatial": spatial, "scalars": scalars,
            "action_type_mask": action_mask, "selectable_mask": selectable, "targetable_mask": targetable,
            "location_mask": location,
        }  # fmt: skip
        # No NaN / inf test of the float fields: they are integers checked by _int_field (|x| < 2**63, finite in
        # float32) times finite constants.
        self._obs = obs
        info = {
            "score_cumulative": score.astype(np.float64),
            "game_loop": game_loop,
            "entities_dropped": len(raw) - k,
        }
        return obs, info

    def _entity_features(self, u: np.ndarray, alliance: np.ndarray, out: np.ndarray) -> None:
        """``(k, 46)`` pysc2 raw units, their ``alliance`` clipped to 5 -> ``out (k, F)`` (zeros; see
        :data:`ENTITY_FEATURES`)."""
        slot = np.take(_TYPE_SLOT, u[:, _UNIT_TYPE], mode="clip")
        out[:, : 4 + _TYPES] = _ONE_HOT[_ALLIANCE_ROW[alliance] + slot]
        out[:, 4 + _TYPES : _ORDER] = u.take(_COLUMN_INDEX, axis=1) * self._column_scale

    def _order_features(self, raw: np.ndarray, kept: np.ndarray, entities: np.ndarray) -> None:
        """Fill the order-target columns of ``entities`` for units with orders this env gave.

        Per unit the commanded targets form a queue (a queued command appends, another replaces it); the
        game reports how many orders remain (``order_length``), so finished head orders are dropped from the
        front and the feature shows the current one. Units without orders or gone from ``raw`` are forgotten."""
        if not self._order_targets:
            return
        s = self.config.spatial_size
        lengths = dict(raw[:, _TAG_LENGTH].tolist())
        for tag in [t for t in self._order_targets if not lengths.get(t)]:
            del self._order_targets[tag]
        rows, targets = [], []
        for row, tag in enumerate(kept[:, _TAG].tolist()):
            queue = self._order_targets.get(tag)
            if queue is None:
                continue
            del queue[: max(len(queue) - lengths[tag], 0)]
            x, y = queue[0]
            rows.append(row)
            targets.append((1.0, x / s, y / s))
        if rows:  # one assignment for all units (the same float64 -> float32 casts as one per unit)
            entities[rows, _ORDER : _ORDER + 3] = targets

    def _record_orders(self, units: list[int], cell: tuple[int, int] | None, queued: int) -> None:
        """Remember where the units in slots ``units`` were sent (``cell``; queued: after their current
        targets), or forget it (a command without a target, e.g. Stop)."""
        for slot in units:
            tag = int(self._kept[slot, _TAG])
            if cell is None:
                self._order_targets.pop(tag, None)
            elif queued and tag in self._order_targets:
                self._order_targets[tag].append(cell)
            else:
                self._order_targets[tag] = [cell]

    # ---------------------------------------------------------------------------------------- action
    def action(self, action) -> tuple[FunctionCall, str]:
        """Structured action -> ``(FunctionCall, illegal_reason)``.

        An action outside :attr:`action_space` raises ``ValueError`` naming the field before anything changes
        (:func:`envs.spec.check_action`: exactly its keys, ints in range, ``selected_units`` of shape ``(M,)``). An
        action that is in the space but illegal now (masked action type; empty selection; a selected slot that is not
        selectable; a target slot that is not targetable; a location outside ``location_mask``) becomes
        ``no_op`` and ``illegal_reason`` says why (``""`` for a legal action). Selection indices stop at
        the first end-of-selection index ``N``; repeated indices count once.
        """
        if self._obs is None:
            raise ValueError("action before the first observation: call reset() first")
        checked = check_action(self.action_space, action)
        k, queued, target = checked["action_type"], checked["queued"], checked["target_unit"]
        location = checked["location"]
        n, s, m = self.config.max_entities, self.config.spatial_size, self.config.max_selected
        selected = checked["selected_units"].tolist()  # plain ints: min / max / index on M values without numpy calls
        obs = self._obs
        if not obs["action_type_mask"][k]:
            return self._noop(), f"action type {self.action_types[k].name} is not available"
        t = self.action_types[k]
        args = []
        units: list[int] = []
        cell: tuple[int, int] | None = None
        for spec_arg in self._functions[k].args:
            name = _ARG_OF[spec_arg.name]
            if name == "queued":
                args.append([queued])
            elif name == "selected_units":
                chosen = list(dict.fromkeys(selected[: selected.index(n) if n in selected else m]))
                if not chosen:
                    return self._noop(), f"{t.name}: empty selected_units"
                if not all(obs["selectable_mask"][i] for i in chosen):
                    return self._noop(), f"{t.name}: selected_units {chosen} include a non-selectable slot"
                units = chosen
                args.append([int(self._rows[i]) for i in chosen])
            elif name == "target_unit":
                if not obs["targetable_mask"][target]:
                    return self._noop(), f"{t.name}: target_unit slot {target} is not targetable"
                cell = (int(self._kept[target, _X]), int(self._kept[target, _Y]))
                args.append([int(self._rows[target])])
            else:
                y, x = divmod(location, s)
                if not obs["location_mask"][y, x]:
                    return self._noop(), f"{t.name}: location ({x}, {y}) is not a legal location"
                cell = (x, y)
                args.append([x, y])
        self._record_orders(units, cell, queued if t.queued else 0)
        return FunctionCall(self._functions[k].id, args), ""

    def _noop(self) -> FunctionCall:
        return FunctionCall(RAW_FUNCTIONS.no_op.id, [])


def _int_field(o, key: str, shape: tuple[int | None, ...], min_leading: int = 0) -> np.ndarray:
    """pysc2 observation field ``o[key]`` as integers, checked BEFORE any cast (a NaN cast to int is a huge
    number): numeric dtype, ``shape`` (a first dimension ``None``: any length; ``min_leading``: at least that many
    rows), and for float arrays finite, integral values. ``ValueError`` naming the field otherwise. An empty array is
    ``(0, ...)`` of ``shape``."""
    try:
        a = np.asarray(o[key])
    except KeyError:
        raise ValueError(f"observation field {key!r} is missing") from None
    if a.dtype.kind not in "biuf":
        raise ValueError(f"observation field {key!r}: expected integers, got dtype {a.dtype}")
    if a.size == 0 and shape[0] is None:
        a = a.reshape(0, *shape[1:])
    # tuple comparisons, not a generator over the dimensions: this runs for 5 fields every step
    if a.ndim != len(shape) or a.shape[1:] != shape[1:] or shape[0] not in (None, len(a)) or len(a) < min_leading:
        want = "(" + ", ".join("n" if d is None else str(d) for d in shape) + ")"
        raise ValueError(f"observation field {key!r}: expected shape {want}, got {a.shape}")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise ValueError(f"observation field {key!r} contains NaN or inf")
        if (a != np.round(a)).any():
            raise ValueError(f"observation field {key!r}: expected integers, got fractional values")
    return a if a.dtype.kind in "iu" else a.astype(np.int64)  # integer layers as they are: no copy per step
