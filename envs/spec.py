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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
