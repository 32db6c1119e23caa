"""Tiny specs, random observations and a legality checker shared by the policy / distribution tests."""

from __future__ import annotations

import torch

from agents.nets.encoders import EntityEncoderConfig
from agents.nets.policy import AlphaStarPolicy, PolicyConfig
from envs.spec import ActionSpec, ActionType, ObservationSpec

TYPES = (
    ActionType("no_op"),
    ActionType("move", queued=True, selected_units=True, location=True),
    ActionType("attack", queued=True, selected_units=True, target_unit=True),
    ActionType("cast", target_unit=True),
    ActionType("scan", location=True),
)


def specs(n: int = 6, m: int = 3, size: int = 4, location_mask: bool = True, types=TYPES):
    obs = ObservationSpec(
        max_entities=n, entity_features=5, spatial_channels=2, spatial_size=(size, size), num_scalars=3,
        num_action_types=len(types), has_location_mask=location_mask, entity_position=(0, 1),
        entity_target_position=(2, 3, 4),
    )  # fmt: skip
    act = ActionSpec(types, max_entities=n, max_selected=m, spatial_size=(size, size))
    return obs, act


def tiny_config(**kw) -> PolicyConfig:
    base = dict(
        entity_encoder=EntityEncoderConfig(channels=16, num_latents=4, num_layers=1, num_heads=2, head_channels=8, widening_factor=2),
        spatial_channels=[4, 8], spatial_res_blocks=1, scalar_channels=8, state_channels=16, head_channels=16,
        head_attention_heads=2, fourier_bands=2,
    )  # fmt: skip
    base.update(kw)
    return PolicyConfig(**base)


def tiny_policy(obs_spec, act_spec, **kw) -> AlphaStarPolicy:
    return AlphaStarPolicy(obs_spec, act_spec, tiny_config(**kw))


def _bernoulli_at_least_one(b: int, n: int, g: torch.Generator) -> torch.Tensor:
    """Random masks with random density; a third of the rows have exactly one True."""
    if n == 0:
        return torch.zeros(b, 0, dtype=torch.bool)
    density = torch.rand(b, 1, generator=g)
    mask = torch.rand(b, n, generator=g) < density
    one = torch.zeros(b, n, dtype=torch.bool)
    one[torch.arange(b), torch.randint(n, (b,), generator=g)] = True
    single = torch.rand(b, generator=g) < 1 / 3
    mask = torch.where(single[:, None], one, mask)
    empty = ~mask.any(-1)
    return mask | (empty[:, None] & one)


def random_obs(obs_spec: ObservationSpec, b: int, seed: int = 0, n: int | None = None) -> dict[str, torch.Tensor]:
    """Random features, random masks (every mask has >= 1 legal entry among real entities)."""
    g = torch.Generator().manual_seed(seed)
    n = obs_spec.max_entities if n is None else n
    (h, w), (ph, pw) = obs_spec.spatial_size, obs_spec.plane_size
    entity_mask = _bernoulli_at_least_one(b, n, g)
    obs = {
        "entities": torch.randn(b, n, obs_spec.entity_features, generator=g),
        "entity_mask": entity_mask.to(torch.int8),
        "spatial": torch.randn(b, obs_spec.spatial_channels, ph, pw, generator=g),
        "scalars": torch.randn(b, obs_spec.num_scalars, generator=g),
        "action_type_mask": _bernoulli_at_least_one(b, obs_spec.num_action_types, g).to(torch.int8),
    }
    for key in ("selectable_mask", "targetable_mask"):
        sub = _bernoulli_at_least_one(b, n, g) & entity_mask
        fallback = torch.zeros_like(sub)
        if n:
            fallback[torch.arange(b), entity_mask.float().argmax(-1)] = True
        obs[key] = torch.where(sub.any(-1, keepdim=True), sub, fallback).to(torch.int8)
    if obs_spec.has_location_mask:
        obs["location_mask"] = _bernoulli_at_least_one(b, h * w, g).view(b, h, w).to(torch.int8)
    return obs


def illegal_rows(obs: dict[str, torch.Tensor], actions: dict[str, torch.Tensor], act_spec: ActionSpec) -> torch.Tensor:
    """``(B,)`` bool: the action breaks a mask (for observations where every mask has a legal entry)."""
    uses = torch.as_tensor(act_spec.uses_matrix())
    n = act_spec.max_entities
    a = actions["action_type"]
    u = uses[a]
    bad = ~obs["action_type_mask"].bool().gather(1, a[:, None]).squeeze(1)
    sel = actions["selected_units"]
    steps = (torch.cumsum((sel == n).long(), 1) - (sel == n).long()) == 0
    is_unit = steps & (sel != n)
    selectable = torch.cat([obs["selectable_mask"].bool(), torch.zeros_like(obs["selectable_mask"][:, :1]).bool()], 1)
    sel_bad = (is_unit & ~selectable.gather(1, sel)).any(-1) | ~is_unit[:, 0]
    both_units = is_unit[:, :, None] & is_unit[:, None, :]
    dup = ((sel[:, :, None] == sel[:, None, :]) & both_units).sum((1, 2)) > is_unit.sum(1)
    bad |= u[:, 1] & (sel_bad | dup)
    bad |= u[:, 2] & ~obs["targetable_mask"].bool().gather(1, actions["target_unit"][:, None]).squeeze(1)
    if "location_mask" in obs:
        loc_ok = obs["location_mask"].bool().flatten(1).gather(1, actions["location"][:, None]).squeeze(1)
        bad |= u[:, 3] & ~loc_ok
    return bad
