"""What the policy attends to, for one observation: the encoder's attention onto the entities, each query head's
attention from its output query, and the pointer / location distributions (pure torch and numpy).

``attention_maps(policy, obs)`` runs the policy's eager forward pass (greedy, or teacher-forced on given actions)
under :func:`perceiver_rl.record_attention` and returns numpy arrays for a replay overlay: entity halos scaled by
``entities`` (or by a head's ``head_entities``), the location head's ``location`` distribution as a heat map::

    maps = attention_maps(policy, obs)          # obs as the env returns it (no batch axis)
    maps.entities                               # (N,) encoder attention, sums to 1 over the real entities
    maps.heads["action_type"], maps.keys["action_type"]   # (Lm + 1,) over "latents" | "entities", + state token
    maps.pointer["target_unit"], maps.location  # (N,), (H, W) the policy's own distributions

Every distribution sums to 1 (float32 rounding), padded entity slots are exactly 0. Attention weights are summed
over the attention heads (and over the query rows where one head has several queries), then normalised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from envs.spec import ARGUMENTS
from perceiver_rl import AttentionRecorder, SelfAttentionBlock, record_attention

from .core import State
from .encoders import PerceiverEntityEncoder, TransformerEntityEncoder
from .heads import QueryHeads
from .heads.space import SpaceQueryHeads
from .observation import prepare_observation
from .policy import AlphaStarPolicy, PolicyOutput
from .space_policy import SpacePolicy
from .torso import TorsoOutput

SELECTED, TARGET, LOCATION = (ARGUMENTS.index(a) for a in ("selected_units", "target_unit", "location"))


@dataclass
class AttentionMaps:
    """What :func:`attention_maps` returns for one observation (N entity slots: ``max_entities`` for a structured
    policy, the observation's tokens for a token env's). Arrays are float32 unless noted."""

    entity_mask: np.ndarray
    """(N,) bool: the real entities (False: padded slots, exactly 0 in every per-entity array below)."""
    entities: np.ndarray | None
    """(N,) the entity encoder's attention onto the entity slots, normalised to sum to 1 over the real entities
    (all 0 without any). Perceiver: the cross-attention of the latents onto the entities, summed over heads and
    latents. Transformer: its last self-attention layer, summed over heads and the real entities' query rows. None
    for an encoder without attention (a custom one, a transformer of 0 layers)."""
    heads: dict[str, np.ndarray] = field(default_factory=dict)
    """``{head: (Lm + 1,)}``: the attention of each query head's output query onto what it decodes from (the
    encoder's memory, then the state token last), summed over attention heads and normalised to 1. Structured
    ``queries`` heads: ``action_type``, ``value`` (stage 1), ``queued``, ``location`` (stage 2; summed over the
    coarse grid's ``h*w`` queries). Token-env ``queries`` heads: ``action`` (``action_0``, ``action_1``, ... for a
    MultiDiscrete) and ``value``. Empty for ``mlp`` heads (no queries)."""
    keys: dict[str, str] = field(default_factory=dict)
    """``{head: "latents" | "entities"}``: what the first ``Lm`` entries of ``heads[head]`` are: the encoder's
    latent array (Perceiver: ``Lm = num_latents``) or the entity slots (transformer: ``Lm = N``)."""
    head_entities: dict[str, np.ndarray] = field(default_factory=dict)
    """``{head: (N,)}``: ``heads[head]`` carried onto the entities, normalised over the real ones (the state token's
    share dropped): the entity entries themselves when the keys are the entities; through the Perceiver's
    cross-attention (``sum_l heads[head][l] * cross[l, n]``, ``cross`` averaged over heads) when they are its
    latents (an approximation: the latent self-attention layers in between are not followed)."""
    pointer: dict[str, np.ndarray] = field(default_factory=dict)
    """``{"selected_units" | "target_unit": (N,)}``: the policy's pointer distributions (softmax of the masked
    logits of its ``dist_inputs``): the first unit selection step, and the target unit. Only for the arguments
    the chosen action type uses and that have a legal entity (otherwise the head is degenerate, not a choice).
    Empty for a token env's policy."""
    selection: np.ndarray | None = None
    """(M, N + 1): every step of the selected_units pointer (EOS last), teacher-forced on the chosen prefix (the
    steps after EOS are degenerate on EOS); each row sums to 1. None where ``pointer`` has no selected_units."""
    location: np.ndarray | None = None
    """(H, W): the location head's distribution over the full-resolution grid (row y, column x), where the chosen
    action type uses a location and some cell is legal; else None."""
    action_type: np.ndarray | None = None
    """(K,): the action-type distribution (legality-masked). None for a token env's policy."""
    actions: Any = None
    """The actions of the pass (greedy, or the given ones), without a batch axis: ``{head: int | (M,)}`` numpy
    (structured) or the action array of the Gym action space."""
    state: dict[str, np.ndarray] | None = None
    """The LSTM state after the step ``{"h", "c": (layers, C)}`` (pass it back as ``state``), or None."""


def _policy_of(policy: object) -> AlphaStarPolicy | SpacePolicy:
    """The torch policy itself, or the one an RLlib ``AlphaStarRLModule`` holds (``module.policy``)."""
    for candidate in (policy, getattr(policy, "policy", None)):
        if isinstance(candidate, AlphaStarPolicy | SpacePolicy):
            return candidate
    raise TypeError(
        f"policy: expected an AlphaStarPolicy, a SpacePolicy or a module holding one as .policy, got "
        f"{type(policy).__name__}"
    )


def _tensor(x: object) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))


def _batch_one(obs: Mapping[str, object], key: str, unbatched_dims: int) -> dict[str, torch.Tensor]:
    """``obs`` without a batch axis (``obs[key]`` has ``unbatched_dims`` dims), or with a batch of 1 -> batch 1."""
    if key not in obs:
        raise ValueError(f"observation field {key!r} is missing")
    dims = _tensor(obs[key]).dim()
    if dims == unbatched_dims:
        return {k: _tensor(v)[None] for k, v in obs.items()}
    if dims == unbatched_dims + 1 and _tensor(obs[key]).shape[0] == 1:
        return {k: _tensor(v) for k, v in obs.items()}
    raise ValueError(
        f"observation field {key!r}: expected one observation ({unbatched_dims} dims, or a batch of 1), got shape "
        f"{tuple(_tensor(obs[key]).shape)}"
    )


def _batch_state(state: Mapping[str, object] | None, device: torch.device) -> State | None:
    """An LSTM state ``(layers, C)`` as ``get_initial_state`` gives it, or ``(1, layers, C)`` -> ``(1, layers, C)``."""
    if state is None:
        return None
    out = {}
    for k, v in state.items():
        t = _tensor(v).to(device=device, dtype=torch.float32)
        out[k] = t[None] if t.dim() == 2 else t
    return out


def _normalise(weights: torch.Tensor, valid: torch.Tensor | None = None) -> np.ndarray:
    """``weights (n,)`` >= 0, 0 where ``valid (n,)`` is False, divided by their sum (all 0 if it is 0) -> float32."""
    w = weights.detach().double().cpu()
    if valid is not None:
        w = torch.where(valid.cpu(), w, 0.0)
    total = w.sum()
    return (w / total if total > 0 else torch.zeros_like(w)).float().numpy()


def _softmax(logits: torch.Tensor) -> np.ndarray:
    """``logits (..., n)`` -> float32 probabilities over the last axis (computed in float64)."""
    return torch.softmax(logits.detach().double().cpu(), -1).float().numpy()


def _entity_attention(
    policy: AlphaStarPolicy | SpacePolicy, rec: AttentionRecorder, mask: torch.Tensor
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """-> (``(N,)`` unnormalised encoder attention onto the entities or None, the Perceiver's per-latent
    cross-attention ``(L, N)`` (rows averaged over heads) or None). ``mask (N,)`` bool."""
    encoder = policy.torso.entity_encoder
    if isinstance(encoder, PerceiverEntityEncoder):
        w = rec.last(encoder.encoder.cross_attention.attention)  # (1, h, L, N)
        if w is not None:
            return w[0].sum((0, 1)), w[0].mean(0)
    if isinstance(encoder, TransformerEntityEncoder) and len(encoder.layers):
        last = encoder.layers[-1]
        assert isinstance(last, SelfAttentionBlock)
        w = rec.last(last.attention)  # (1, h, N, N)
        if w is not None:
            return w[0][:, mask.to(w.device)].sum((0, 1)), None
    return None, None


def _query_attention(policy: AlphaStarPolicy | SpacePolicy, rec: AttentionRecorder) -> dict[str, torch.Tensor]:
    """``{head: (Lm + 1,)}`` the query heads' attention (summed over attention heads and a head's queries)."""
    heads = policy.heads
    if isinstance(heads, QueryHeads):
        stage1, stage2 = rec.last(heads.stage1_decoder.attention), rec.last(heads.stage2_decoder.attention)
        assert stage1 is not None and stage2 is not None  # the forward pass called both decoders
        s1, s2 = stage1[0].sum(0), stage2[0].sum(0)  # (2, Lm + 1), (1 + h*w, Lm + 1)
        return {"action_type": s1[0], "value": s1[1], "queued": s2[0], "location": s2[1:].sum(0)}
    if isinstance(heads, SpaceQueryHeads):
        decoded = rec.last(heads.decoder.attention)
        assert decoded is not None
        w = decoded[0].sum(0)  # (H + 1, Lm + 1): one query per action head, the value's last
        n = w.shape[0] - 1
        names = ["action"] if n == 1 else [f"action_{i}" for i in range(n)]
        return {**dict(zip(names, w[:n])), "value": w[n]}
    return {}


def _distributions(
    policy: AlphaStarPolicy, out: PolicyOutput, obs: dict[str, torch.Tensor], maps: AttentionMaps
) -> None:
    """Fill ``maps.action_type``, ``pointer``, ``selection``, ``location`` from the pass's masked logits."""
    dist = out.distribution
    assert dist is not None  # a forward pass keeps its distribution
    logits = {k: v[0] for k, v in dist.logits.items()}
    maps.action_type = _softmax(logits["action_type"])
    assert isinstance(out.actions, dict)
    used = policy.uses[out.actions["action_type"].reshape(-1)[0]].cpu()  # (4,) bool, ARGUMENTS order
    prepared = prepare_observation(obs, policy.obs_spec)
    n = policy.obs_spec.max_entities
    if used[SELECTED] and prepared["selectable_mask"][0].any():
        steps = _softmax(logits["selected_units"])  # (M, N + 1)
        maps.selection = steps
        maps.pointer["selected_units"] = _normalise(torch.as_tensor(steps[0, :n]))  # EOS is illegal at step 0
    if used[TARGET] and prepared["targetable_mask"][0].any():
        maps.pointer["target_unit"] = _softmax(logits["target_unit"])
    legal_cells = prepared.get("location_mask")
    if used[LOCATION] and (legal_cells is None or legal_cells[0].any()):
        h, w = policy.action_spec.spatial_size
        maps.location = _softmax(logits["location"]).reshape(h, w)


def attention_maps(
    policy: object,
    obs: Mapping[str, object],
    state: Mapping[str, object] | None = None,
    actions: object = None,
) -> AttentionMaps:
    """What ``policy`` attends to for ONE observation ``obs``.

    ``policy``: an :class:`~agents.nets.policy.AlphaStarPolicy`, a :class:`~agents.nets.space_policy.SpacePolicy`,
    or an RLlib ``AlphaStarRLModule`` (its ``.policy``). ``obs``: one observation as the env returns it (no batch
    axis; a batch of 1 is accepted too), numpy or torch. ``state``: the LSTM state before the step, ``{"h", "c":
    (layers, C)}`` (``module.get_initial_state()``, or the ``state`` of the previous call), or None (zeros).
    ``actions``: None for the greedy action (``deterministic=True``), or the action to teacher-force the pass on,
    without a batch axis, as the env takes it (``{head: int | (M,)}`` for structured actions): the autoregressive
    heads are conditioned on it, e.g. the action a replay recorded.

    One eager ``forward`` under ``torch.no_grad`` and :func:`perceiver_rl.record_attention` (not ``act``: its
    replayed trace runs no Python); the policy's outputs are those of the same pass without recording, bitwise.
    See :class:`AttentionMaps` for the fields and their shapes.
    """
    net = _policy_of(policy)
    structured = isinstance(net, AlphaStarPolicy)
    batch = _batch_one(obs, "scalars", 1) if structured else _batch_one(obs, "entities", 2)
    given: Any = None
    if actions is not None:
        if structured:
            assert isinstance(actions, Mapping)
            given = {k: _tensor(v)[None] for k, v in actions.items()}
        else:
            given = _tensor(actions)[None]
    device = next(net.parameters()).device
    with torch.no_grad(), record_attention() as rec:
        out = net(batch, actions=given, state=_batch_state(state, device), deterministic=True)
    torso = out.torso
    assert isinstance(torso, TorsoOutput)  # a forward pass returns the torso's output
    mask = torso.entity_mask[0].bool()  # (N,)
    onto_entities, cross = _entity_attention(net, rec, mask)
    maps = AttentionMaps(
        entity_mask=mask.cpu().numpy(),
        entities=None if onto_entities is None else _normalise(onto_entities, mask),
        actions=(
            {k: v[0].cpu().numpy() for k, v in out.actions.items()}
            if isinstance(out.actions, dict)
            else out.actions[0].cpu().numpy()
        ),
        state=None if out.state is None else {k: v[0].cpu().numpy() for k, v in out.state.items()},
    )
    keys = "entities" if torso.memory is torso.per_entity else "latents"
    memory_mask = torso.memory_mask[0].bool() if torso.memory_mask is not None else None
    n = mask.shape[0]
    for head, weights in _query_attention(net, rec).items():
        valid = None if memory_mask is None else torch.cat([memory_mask, memory_mask.new_ones(1)]).to(weights.device)
        maps.heads[head], maps.keys[head] = _normalise(weights, valid), keys
        if keys == "entities":
            maps.head_entities[head] = _normalise(weights[:n], mask)
        elif cross is not None and cross.shape[0] == weights.shape[0] - 1:  # the Perceiver's latents
            maps.head_entities[head] = _normalise(weights[:-1] @ cross, mask)
    if isinstance(net, AlphaStarPolicy):
        _distributions(net, out, batch, maps)
    return maps
