"""Torch-side observation helpers: stack env observations, convert them to tensors, pad and check them.

``prepare_observation(obs, spec)`` turns a batched structured observation (numpy or torch, any leading
dims ``(*B)``) into the tensors the policy consumes: float features, boolean masks, entity slots padded to
``spec.max_entities``. More entities than ``max_entities`` is a ``ValueError`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from envs.spec import ObservationSpec

ENTITY_FIELDS = ("entities", "entity_mask", "selectable_mask", "targetable_mask")
"""Fields with one slot per entity (second-to-last axis of ``entities``, last axis of the masks)."""
MASK_FIELDS = ("entity_mask", "action_type_mask", "selectable_mask", "targetable_mask", "location_mask")


def stack_observations(observations: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A list of per-env observation dicts -> one dict of arrays with a leading batch axis."""
    if not observations:
        raise ValueError("observations: expected at least one observation, got an empty sequence")
    return {k: np.stack([np.asarray(o[k]) for o in observations]) for k in observations[0]}


def _tensor(key: str, value: object, device: torch.device | None) -> torch.Tensor:
    t = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    if key in MASK_FIELDS:
        return t.to(device=device, dtype=torch.bool)
    return t.to(device=device, dtype=torch.float32)


def prepare_observation(
    obs: Mapping[str, object], spec: ObservationSpec, device: torch.device | str | None = None
) -> dict[str, torch.Tensor]:
    """Batched observation (leading dims ``(*B)``) -> tensors with entity slots padded to ``spec.max_entities``.

    Raises ``ValueError`` naming the field that is missing, has the wrong trailing shape, or holds more
    entities than ``spec.max_entities``.
    """
    n_max, (h, w), (ph, pw) = spec.max_entities, spec.spatial_size, spec.plane_size
    trailing = {
        "entities": (None, spec.entity_features),
        "entity_mask": (None,),
        "selectable_mask": (None,),
        "targetable_mask": (None,),
        "spatial": (spec.spatial_channels, ph, pw),
        "scalars": (spec.num_scalars,),
        "action_type_mask": (spec.num_action_types,),
    }
    if spec.has_location_mask:
        trailing["location_mask"] = (h, w)
    out: dict[str, torch.Tensor] = {}
    for key, shape in trailing.items():
        if key not in obs:
            raise ValueError(f"observation field {key!r} is missing")
        t = _tensor(key, obs[key], torch.device(device) if device is not None else None)
        got = tuple(t.shape[t.dim() - len(shape) :]) if t.dim() >= len(shape) else tuple(t.shape)
        if len(got) != len(shape) or any(e is not None and e != g for e, g in zip(shape, got)):
            expected = tuple("N" if e is None else e for e in shape)
            raise ValueError(f"observation field {key!r}: expected trailing shape {expected}, got {tuple(t.shape)}")
        out[key] = t
    lead = out["scalars"].shape[:-1]
    n = out["entities"].shape[-2]
    for key in trailing:
        axis = -2 if key == "entities" else -1
        if key in ENTITY_FIELDS and out[key].shape[axis] != n:
            raise ValueError(f"observation field {key!r}: {out[key].shape[axis]} entity slots, 'entities' has {n}")
        rest = len(trailing[key])
        if tuple(out[key].shape[: out[key].dim() - rest]) != tuple(lead):
            got = tuple(out[key].shape)[:-rest]
            raise ValueError(f"observation field {key!r}: leading dims {got} != {tuple(lead)} of 'scalars'")
    if n > n_max:
        raise ValueError(f"observation field 'entities': {n} entities exceed max_entities={n_max}")
    if n < n_max:
        for key in ENTITY_FIELDS:
            pad = (0, 0, 0, n_max - n) if key == "entities" else (0, n_max - n)
            out[key] = torch.nn.functional.pad(out[key], pad)
    # An entity slot is usable only when it holds a real entity.
    out["selectable_mask"] = out["selectable_mask"] & out["entity_mask"]
    out["targetable_mask"] = out["targetable_mask"] & out["entity_mask"]
    return out
