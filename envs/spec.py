"""The observation and action contract shared by envs/ (producers) and agents/ (consumers).

Structured (SC2-style) observation: a dict of fixed-shape arrays, batch dim first once batched.

=====================  ==================  ========  =============================================
key                    shape               dtype     meaning
=====================  ==================  ========  =============================================
``entities``           ``(N_max, F)``      float32   per-entity features, padded with zeros
``entity_mask``        ``(N_max,)``        int8      1 = a real entity in this slot
``spatial``            ``(C, H/p, W/p)``   float32   minimap-style feature planes, average-pooled by ``p``
``scalars``            ``(S,)``            float32   global features
``action_type_mask``   ``(K,)``            int8      1 = action type k is legal now
``selectable_mask``    ``(N_max,)``        int8      1 = entity may be picked by selected_units
``targetable_mask``    ``(N_max,)``        int8      1 = entity may be a target_unit
``location_mask``      ``(H, W)``          int8      optional, 1 = a legal target location
=====================  ==================  ========  =============================================

Structured action: a dict ``action_type (K)``, ``queued (2)``, ``selected_units (M,)`` entity indices
terminated (and padded) by the end-of-selection index ``N_max``, ``target_unit (N_max)``, ``location``
(flat index ``y * W + x`` into the ``H x W`` grid). Arguments the chosen action type does not take are
ignored by the env and contribute nothing to the log-probability.

Token observation (Gym wrappers): an entity list alone, the structured observation's first two fields with no
spatial map, scalars or action masks: ``entities (N, F)`` float32 (one token per entity slot) and
``entity_mask (N,)`` int8; the action is the wrapped env's own action space.
Masks are int8 {0, 1} (gymnasium ``MultiBinary``) because RLlib's connectors batch them as numbers;
models convert them with ``mask.bool()``.

Actions of every env (token wrappers and structured envs alike) are checked by :func:`check_action` against the env's
gymnasium action space before anything is executed: a value outside the space is a one-line ``ValueError`` naming
the field (``action``, ``action['selected_units']``) and leaves the env as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

ARGUMENTS = ("queued", "selected_units", "target_unit", "location")


@dataclass(frozen=True)
class ActionType:
    """One action type (a pysc2 function) and the arguments it takes."""

    name: str
    queued: bool = False
    selected_units: bool = False
    target_unit: bool = False
    location: bool = False

    def uses(self, argument: str) -> bool:
        return bool(getattr(self, argument))


@dataclass(frozen=True)
class ObservationSpec:
    """Sizes of the structured observation."""

    max_entities: int = 64
    """N_max: entity slots (more entities than this is an error or a counted truncation, see envs)."""
    entity_features: int = 16
    """F: features per entity."""
    spatial_channels: int = 4
    """C: feature planes."""
    spatial_size: tuple[int, int] = (32, 32)
    """(H, W) of the map: the location grid, and the feature planes before pooling."""
    plane_pool: int = 1
    """p: the feature planes arrive average-pooled by this factor, ``(C, H/p, W/p)`` (a policy that pools them
    anyway need not be sent, stored and batched 64 x 64 planes: 94 % of a step's bytes; docs/benchmarks.md)."""
    num_scalars: int = 8
    """S: global features."""
    num_action_types: int = 3
    """K: action types."""
    has_location_mask: bool = False
    entity_position: tuple[int, int] | None = None
    """Columns ``(x, y)`` of ``entities`` holding each entity's map position as grid coordinate / grid size
    (``x * W`` is the location column of the entity's cell); None when entities have no map position."""
    entity_target_position: tuple[int, int, int] | None = None
    """Columns ``(known, x, y)`` of a second map position per entity, where its current order goes (``known``
    1/0), scaled like ``entity_position``; None when entities carry no such position."""

    @property
    def plane_size(self) -> tuple[int, int]:
        """``(H/p, W/p)``: the feature planes' size."""
        return (self.spatial_size[0] // self.plane_pool, self.spatial_size[1] // self.plane_pool)

    def space(self) -> spaces.Dict:
        n, (h, w), (ph, pw) = self.max_entities, self.spatial_size, self.plane_size
        d: dict[str, spaces.Space] = {
            "entities": spaces.Box(-np.inf, np.inf, (n, self.entity_features), np.float32),
            "entity_mask": spaces.MultiBinary(n),
            "spatial": spaces.Box(-np.inf, np.inf, (self.spatial_channels, ph, pw), np.float32),
            "scalars": spaces.Box(-np.inf, np.inf, (self.num_scalars,), np.float32),
            "action_type_mask": spaces.MultiBinary(self.num_action_types),
            "selectable_mask": spaces.MultiBinary(n),
            "targetable_mask": spaces.MultiBinary(n),
        }
        if self.has_location_mask:
            d["location_mask"] = spaces.MultiBinary([h, w])
        return spaces.Dict(d)

    def validate(self, obs: Mapping[str, np.ndarray]) -> None:
        """Raise ``ValueError`` naming the first field whose shape is wrong or whose values are not finite."""
        for key, sub in self.space().spaces.items():
            if key not in obs:
                raise ValueError(f"observation field {key!r} is missing")
            arr = np.asarray(obs[key])
            if arr.shape != sub.shape:
                raise ValueError(f"observation field {key!r}: expected shape {sub.shape}, got {arr.shape}")
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                raise ValueError(f"observation field {key!r} contains NaN or inf")


@dataclass(frozen=True)
class ActionSpec:
    """Action types and argument sizes of the structured action."""

    action_types: tuple[ActionType, ...] = field(default_factory=tuple)
    max_entities: int = 64
    max_selected: int = 8
    """M: selected_units pointer steps (the last index, N_max, is end-of-selection)."""
    spatial_size: tuple[int, int] = (32, 32)

    @property
    def num_action_types(self) -> int:
        return len(self.action_types)

    def uses_matrix(self) -> np.ndarray:
        """``(K, 4)`` bool: which of ARGUMENTS each action type takes."""
        return np.array([[t.uses(a) for a in ARGUMENTS] for t in self.action_types], dtype=bool)

    def space(self) -> spaces.Dict:
        h, w = self.spatial_size
        return spaces.Dict(
            {
                "action_type": spaces.Discrete(self.num_action_types),
                "queued": spaces.Discrete(2),
                "selected_units": spaces.MultiDiscrete([self.max_entities + 1] * self.max_selected),
                "target_unit": spaces.Discrete(self.max_entities),
                "location": spaces.Discrete(h * w),
            }
        )


@dataclass(frozen=True)
class TokenSpec:
    """Token observation of the Gym wrappers: ``num_tokens`` entities of ``token_features`` features each."""

    num_tokens: int
    token_features: int

    def space(self) -> spaces.Dict:
        return spaces.Dict(
            {
                "entities": spaces.Box(-np.inf, np.inf, (self.num_tokens, self.token_features), np.float32),
                "entity_mask": spaces.MultiBinary(self.num_tokens),
            }
        )


# ----------------------------------------------------------------------------------------- action validation
def check_action(space: spaces.Space, action: Any, name: str = "action") -> Any:
    """``action`` checked against ``space`` exactly, returned in a canonical form; ``ValueError`` naming the field
    (``name``, ``name['key']``, ``name[i]``) otherwise, in one line. The one action check of every env here.

    - ``Discrete``: an int in ``[start, start + n)``: a Python int, a numpy integer or a 0-d integer array; not a
      bool, a float (even ``1.0``), a string, a list or an array of another shape. Returned as a Python ``int``.
    - ``MultiDiscrete``: integers of exactly the space's shape (no flattening or reshaping), each in
      ``[start, start + nvec)``; bools and floats refused. Returned as an ``int64`` array.
    - ``MultiBinary``: integers (or bools) 0 / 1 of exactly the space's shape. Returned as an ``int8`` array.
    - ``Box``: real numbers (bools refused) of exactly the space's shape, finite, within ``[low, high]``, and integral
      for an integer-typed Box. Returned as an array of the space's dtype.
    - ``Dict``: a mapping with exactly the space's keys (a missing or extra key is named), each value checked
      against its subspace. Returned as a ``dict`` in the space's key order. ``Tuple``: a sequence of its length,
      each element checked.
    - any other space: ``space.contains(action)``; the action is returned as it is.
    """
    if isinstance(space, spaces.Discrete):
        return _discrete(space, action, name)
    if isinstance(space, spaces.Dict):
        return _dict(space, action, name)
    if isinstance(space, spaces.MultiDiscrete):
        return _multi_discrete(space, action, name)
    if isinstance(space, spaces.MultiBinary):
        return _multi_binary(space, action, name)
    if isinstance(space, spaces.Box):
        return _box(space, action, name)
    if isinstance(space, spaces.Tuple):
        if isinstance(action, (str, bytes, Mapping)) or not hasattr(action, "__len__") or len(action) != len(space):
            raise ValueError(f"{name}: expected a sequence of {len(space)} values, got {_show(action)}")
        return tuple(check_action(sub, a, f"{name}[{i}]") for i, (sub, a) in enumerate(zip(space.spaces, action)))
    if not space.contains(action):
        raise ValueError(f"{name}: expected a member of {space}, got {_show(action)}")
    return action


def _show(value: Any) -> str:
    """``repr(value)`` on one line, at most 80 characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _discrete(space: spaces.Discrete, value: Any, name: str) -> int:
    """``value`` as a Python int in ``[start, start + n)``: an int, a numpy integer or a 0-d integer array."""
    if type(value) is int or isinstance(value, np.integer):  # the common cases first: this runs per step and field
        v = int(value)
    elif isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":  # 0-d (the policy's)
        v = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):  # an IntEnum, not True / False
        v = int(value)
    else:
        v = None
    start = int(space.start)  # Python ints: numpy scalar comparisons cost more
    stop = start + int(space.n)
    if v is None or not start <= v < stop:
        raise ValueError(f"{name}: expected an int in [{start}, {stop}), got {_show(value)}")
    return v


def _array(value: Any, name: str) -> np.ndarray:
    """``np.asarray(value)``; a ragged sequence is a ``ValueError`` naming the field."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name}: expected an array, got {_show(value)}") from None


def _has_bool(value: Any) -> bool:
    """Whether a (nested) list or tuple holds a bool, which ``np.asarray`` would turn into an int silently."""
    if isinstance(value, (bool, np.bool_)):
        return True
    return isinstance(value, (list, tuple)) and any(_has_bool(v) for v in value)


def _shaped(space: spaces.Space, value: Any, name: str, kinds: str, what: str, *, bools: bool) -> np.ndarray:
    """``value`` as an array of one of the dtype ``kinds`` and exactly ``space``'s shape (``bools``: a bool may
    stand for an int); ``ValueError`` naming ``name`` and ``what`` was expected otherwise."""
    a = _array(value, name)
    if not bools and _has_bool(value):
        raise ValueError(f"{name}: expected {what}, got a bool in {_show(value)}")
    if a.dtype.kind not in kinds:
        raise ValueError(f"{name}: expected {what}, got dtype {a.dtype}: {_show(value)}")
    if a.shape != space.shape:
        raise ValueError(f"{name}: expected shape {space.shape}, got {a.shape}")
    return a


def _multi_discrete(space: spaces.MultiDiscrete, value: Any, name: str) -> np.ndarray:
    """``value`` as an ``int64`` array of exactly the space's shape, each component in ``[start, start + nvec)``."""
    a = _shaped(space, value, name, "iu", "ints", bools=False)
    # Python ints over the (few) components: a numpy comparison and reduction cost ~5 us per call
    values, starts, sizes = a.ravel().tolist(), space.start.ravel().tolist(), space.nvec.ravel().tolist()
    for i, (v, lo, n) in enumerate(zip(values, starts, sizes)):
        if not lo <= v < lo + n:
            where = ", ".join(str(int(j)) for j in np.unravel_index(i, a.shape))
            raise ValueError(f"{name}: expected ints in [{lo}, {lo + n}), got {v} at [{where}] in {_show(a.tolist())}")
    return a.astype(np.int64, copy=False)


def _multi_binary(space: spaces.MultiBinary, value: Any, name: str) -> np.ndarray:
    """``value`` as an ``int8`` array of exactly the space's shape, every element 0 or 1 (bools allowed)."""
    a = _shaped(space, value, name, "biu", "0 / 1 ints", bools=True)
    if a.dtype.kind != "b" and not ((a == 0) | (a == 1)).all():
        raise ValueError(f"{name}: expected 0 / 1 ints, got {_show(a.tolist())}")
    return a.astype(np.int8)


def _box(space: spaces.Box, value: Any, name: str) -> np.ndarray:
    """``value`` as an array of the space's dtype and exact shape: finite, within the bounds, integral for an
    integer-typed Box."""
    a = _shaped(space, value, name, "iuf", "numbers", bools=False)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or inf: {_show(a.tolist())}")
        if space.dtype is not None and space.dtype.kind in "iu" and (a != np.round(a)).any():
            raise ValueError(f"{name}: expected integers, got fractional values {_show(a.tolist())}")
    x = a.astype(np.float64)
    bad = (x < space.low) | (x > space.high)
    if bad.any():
        i = tuple(int(j) for j in np.argwhere(bad)[0])
        lo, hi = np.broadcast_to(space.low, space.shape)[i], np.broadcast_to(space.high, space.shape)[i]
        where = f" at [{', '.join(map(str, i))}]" if i else ""
        raise ValueError(f"{name}: expected values in [{lo}, {hi}], got {a[i]}{where}")
    return a.astype(space.dtype)


def _dict(space: spaces.Dict, value: Any, name: str) -> dict[str, Any]:
    """``value`` as a dict with exactly the space's keys (the first missing or extra one named), each checked."""
    keys = list(space.spaces)
    if not isinstance(value, (dict, Mapping)):  # dict first: an ABC check costs more
        raise ValueError(f"{name}: expected a mapping with keys {', '.join(keys)}, got {_show(value)}")
    for key in keys:
        if key not in value:
            raise ValueError(f"{name}[{key!r}] is missing (expected keys {', '.join(keys)})")
    if len(value) != len(keys):
        extra = next(k for k in value if k not in space.spaces)
        raise ValueError(f"{name}[{extra!r}]: unexpected key (expected keys {', '.join(keys)})")
    return {key: check_action(sub, value[key], f"{name}[{key!r}]") for key, sub in space.spaces.items()}
