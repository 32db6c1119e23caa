"""The AlphaStar-style policy: swappable entity encoder (transformer | perceiver), heads (queries | mlp).

API (pure torch; the RLlib RLModule wraps it)::

    policy = AlphaStarPolicy(obs_spec, action_spec, PolicyConfig(encoder="perceiver", heads="queries"))
    out = policy(obs)                                  # sample        (act, exploration)
    out = policy(obs, deterministic=True)              # greedy        (act, inference)
    out = policy(obs, actions=batch_actions)           # teacher-forced (learner)
    out = policy.act(obs[, deterministic=True])        # the rollout path: policy(obs) under inference mode,
                                                       # no distribution object (out.distribution is None),
                                                       # through a jit trace (agents.nets.traced_step)
    out.actions      dict of int64: action_type (B,), queued (B,), selected_units (B, M) (EOS = N_max
                     pads after the end), target_unit (B,), location (B,) = y * W + x
    out.logp         (B,)   log-probability of out.actions
    out.dist_inputs  (B, L) flat, legality-masked, teacher-forced logits (layout: agents.nets.distribution)
    out.entropy      (B,)   computed on demand from out.distribution
    out.value        (B,)
    out.state        LSTM state {"h", "c": (B, layers, C)} or None
    out.torso        the torso's output the heads read (forward only, None from act)
    policy.value(obs[, state]) == policy.value_from_torso(out.torso) == out.value
    dist = StructuredActionDistribution.from_flat(out.dist_inputs, action_spec)   # == policy.distribution(...)
    dist.logp(out.actions) == out.logp;  dist.entropy();  dist.kl(other);  dist.sample();  dist.deterministic()

``obs`` is a dict of tensors / arrays with leading dims ``(B,)``, or ``(B, T)`` for sequences through the
LSTM core (outputs then have leading dims ``(B, T)``; ``state`` is the state at the start of each
sequence); masks may be int8 or bool; fewer than ``max_entities`` entity slots are padded, more raise.
Action types whose required units / locations do not exist in the observation are masked out
(``legal_action_types``) unless that leaves none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import nn

from envs.spec import ActionSpec, ObservationSpec

from .config_values import MAX_LAYERS, MAX_MAP_SIDE, MAX_WIDTH, ranged
from .core import State
from .distribution import (
    HEADS,
    ActionLayout,
    StructuredActionDistribution,
    choose,
    flat_logits,
    head_log_probs,
    joint_log_prob,
    mask_logits,
)
from .encoders import EntityEncoderConfig
from .heads import ArgumentHeads, HeadDims, build_heads
from .heads.arguments import ArgumentMasks
from .map_position import MapPositionEncoding
from .observation import prepare_observation
from .torso import Torso, TorsoOutput
from .traced_step import TracedSteps, split_state, with_state

MAX_STRIDED_CONVS = MAX_MAP_SIDE.bit_length() - 1
"""Stride-2 convolutions of the spatial encoder (``len(spatial_channels) - 1``): 10 halve the largest map side
(1024) to one cell."""


@dataclass
class PolicyConfig:
    """Architecture of :class:`AlphaStarPolicy` (defaults: AlphaStar's entity encoder sizes). An experiment's
    ``model.policy`` section is this config field for field (``--set model.policy.entity_encoder.num_latents=32``)."""

    encoder: str = "perceiver"
    """Entity encoder name in ``agents.nets.encoders.ENTITY_ENCODERS``: 'perceiver' | 'transformer' | yours."""
    entity_encoder: EntityEncoderConfig = field(default_factory=EntityEncoderConfig)
    """The entity encoder's hyper-parameters (width D, layers, heads, latents; :class:`EntityEncoderConfig`)."""
    heads: str = "queries"
    """Head torso in ``agents.nets.heads.HEAD_TORSOS``: 'queries' (decoded from the latents) | 'mlp'."""
    spatial_channels: list[int] = ranged([16, 32, 64], ge=1, le=MAX_WIDTH)
    """1x1 projection width, then one stride-2 conv per further entry (location grid stride 2**(len-1)).
    AlphaStar (128x128 maps): [32, 64, 128, 128] with 4 res blocks. Each width <= 8192
    (:data:`~agents.nets.config_values.MAX_WIDTH`)."""
    spatial_res_blocks: int = ranged(2, ge=0, le=MAX_LAYERS)
    """Residual blocks after the convolutions (<= 1024, :data:`~agents.nets.config_values.MAX_LAYERS`)."""
    spatial_pool: int = ranged(1, ge=1, le=MAX_MAP_SIDE)
    """Average-pool the planes by this factor before the spatial encoder's convolutions (location grid stride
    ``spatial_pool * 2**(len(spatial_channels)-1)``; the location head keeps full resolution). At most 1024, the
    largest map side (:data:`~agents.nets.config_values.MAX_MAP_SIDE`)."""
    spatial_embed_size: int = ranged(8, ge=1, le=MAX_MAP_SIDE)
    """The map skip is average-pooled to at most this many cells a side before the Linear to the spatial
    embedding (AlphaStar flattens its whole 16 x 16 map skip: here 16,384 x 256 weights, half the default
    policy's, read for every action); the location head reads the map skip at full resolution. At most 1024."""
    scalar_channels: int = ranged(64, ge=1, le=MAX_WIDTH)
    """Width of the scalar-feature embedding (<= 8192)."""
    state_channels: int = ranged(256, ge=1, le=MAX_WIDTH)
    """Width of the fused state vector (and of the LSTM; <= 8192)."""
    lstm: bool = False
    """Insert an LSTM core after the fusion layer (state in/out; RLlib trains it on ``model.max_seq_len`` chunks)."""
    lstm_layers: int = ranged(1, ge=1, le=MAX_LAYERS)
    """Stacked LSTM layers (<= 1024)."""
    head_channels: int = ranged(128, ge=1, le=MAX_WIDTH)
    """C: width of the head features and of the autoregressive embedding (<= 8192)."""
    head_attention_heads: int = ranged(2, ge=1, le=1024)
    """Attention heads of the query-head decoders (<= 1024: more heads than that split C = ``head_channels`` into
    slices of at most 8 channels)."""
    location_sigma: float = ranged(1.0, ge=0)
    """Location head: how far (Gaussian sigma, in cells) an entity's pointer score spreads over the cells
    around it (0: only its own cell). See :mod:`agents.nets.heads.arguments`."""
    fourier_bands: int = ranged(8, ge=1, le=MAX_MAP_SIDE)
    """Fourier bands of the map position encoding (entity positions and location queries share it) and of
    the coarse location queries. At most 1024 (2 + 4 x 1024 features per position; DeepMind's image Perceiver
    uses 64 bands), the largest map side: frequencies are ``linspace(1, side / 2, bands)``, so more bands than the
    side only repeat them more densely."""
    trace_rollout: bool = True
    """``act`` (EnvRunners, evaluation) replays a TorchScript trace of the rollout pass per input signature: the
    same numbers, less Python dispatch (:mod:`agents.nets.traced_step`). Set False for a custom encoder or head
    with a Python branch on tensor *values* (``if mask.any()``, ``.item()``): a trace would freeze that branch."""

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if not self.spatial_channels:
            yield "spatial_channels", "expected a non-empty list of int, got []"
        if len(self.spatial_channels) > MAX_STRIDED_CONVS + 1:  # each further entry halves the grid
            yield (
                "spatial_channels",
                f"expected at most {MAX_STRIDED_CONVS + 1} entries (a stride of 2**{MAX_STRIDED_CONVS} = "
                f"{MAX_MAP_SIDE:,} cells, the largest map side), got {len(self.spatial_channels)}",
            )


@dataclass
class PolicyOutput:
    """What a policy of the family returns (:class:`AlphaStarPolicy`, :class:`~agents.nets.space_policy.SpacePolicy`)."""

    actions: dict[str, torch.Tensor] | torch.Tensor
    """Sampled / greedy actions, or the given ones when teacher-forcing: a dict of heads (structured), or the
    action tensor of a Gym action space (``SpacePolicy``)."""
    logp: torch.Tensor
    """(B,) log-probability of ``actions``."""
    dist_inputs: torch.Tensor
    """(B, L) flat masked logits: ``StructuredActionDistribution.from_flat`` input (``SpacePolicy``: the layout
    of :mod:`agents.nets.action_space`)."""
    value: torch.Tensor
    """(B,)."""
    state: State | None = None
    """LSTM state after the step / sequence, or None."""
    distribution: StructuredActionDistribution | None = field(default=None, repr=False)
    """The distribution behind ``dist_inputs`` (rows flattened over the leading dims)."""
    torso: TorsoOutput | None = field(default=None, repr=False)
    """The torso's output that the heads read (a ``forward`` pass; None from ``act``): ``value_from_torso(torso)``
    gives ``value`` again without a second pass through the torso (the RLlib module's ``Columns.EMBEDDINGS``)."""

    @property
    def entropy(self) -> torch.Tensor:
        """(B,) entropy of the structured distribution (computed on demand)."""
        dist = self.distribution
        if dist is None:  # the AttributeError that ``None.entropy()`` raised, with a clearer message
            raise AttributeError("entropy: this output has no distribution (distribution is None)")
        return dist.entropy()


def _check_specs(obs_spec: ObservationSpec, action_spec: ActionSpec) -> None:
    pairs = {
        "max_entities": (obs_spec.max_entities, action_spec.max_entities),
        "spatial_size": (tuple(obs_spec.spatial_size), tuple(action_spec.spatial_size)),
        "num_action_types": (obs_spec.num_action_types, action_spec.num_action_types),
    }
    for name, (o, a) in pairs.items():
        if o != a:
            raise ValueError(f"action_spec.{name}={a} does not match obs_spec.{name}={o}")
    if action_spec.max_selected < 1:
        raise ValueError(f"action_spec.max_selected: expected >= 1, got {action_spec.max_selected}")


class AlphaStarPolicy(nn.Module):
    """Entity/spatial/scalar encoders -> [LSTM] -> action_type -> queued -> selected_units -> target_unit
    -> location, with a value head. See the module docstring for the call API."""

    uses: torch.Tensor

    def __init__(self, obs_spec: ObservationSpec, action_spec: ActionSpec, config: PolicyConfig | None = None) -> None:
        super().__init__()
        _check_specs(obs_spec, action_spec)
        cfg = self.config = config or PolicyConfig()
        self.obs_spec, self.action_spec = obs_spec, action_spec
        self.layout = ActionLayout.from_spec(action_spec)
        positions = MapPositionEncoding(obs_spec.spatial_size, cfg.fourier_bands)
        self.torso = Torso(obs_spec=obs_spec, config=cfg, positions=positions)
        spatial = self.torso.spatial_encoder
        assert spatial is not None  # an ObservationSpec torso has one
        dims = HeadDims(
            num_action_types=action_spec.num_action_types,
            entity_channels=self.torso.entity_encoder.output_channels,
            map_channels=spatial.map_channels,
            map_size=spatial.map_size,
            state_channels=cfg.state_channels,
            channels=cfg.head_channels,
            num_heads=cfg.head_attention_heads,
            fourier_bands=cfg.fourier_bands,
        )
        self.heads = build_heads(cfg.heads, dims)
        self.arguments = ArgumentHeads(
            layout=self.layout,
            uses=action_spec.uses_matrix(),
            state_channels=cfg.state_channels,
            channels=cfg.head_channels,
            map_size=spatial.map_size,
            stride=spatial.stride,
            positions=positions,
            location_sigma=cfg.location_sigma,
        )
        self.register_buffer("uses", torch.as_tensor(action_spec.uses_matrix()), persistent=False)
        self._steps = TracedSteps(enabled=cfg.trace_rollout)  # act's traces (not a submodule: state dicts unchanged)

    # ------------------------------------------------------------------ helpers
    def initial_state(self, batch_size: int) -> State | None:
        """Zero LSTM state ``{"h", "c": (B, layers, C)}``, or None without a core."""
        core = self.torso.core
        return None if core is None else core.initial_state(batch_size, self.uses.device)

    def distribution(self, dist_inputs: torch.Tensor) -> StructuredActionDistribution:
        """The distribution of flat ``dist_inputs (*lead, L)`` (``StructuredActionDistribution.from_flat``)."""
        return StructuredActionDistribution.from_flat(dist_inputs, self.action_spec)

    def legal_action_types(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B, K)`` bool: the action-type mask, minus types whose unit / location arguments have no legal
        choice in this observation (kept as is if that would leave no type)."""
        u = self.uses
        always = torch.ones_like(obs["action_type_mask"][:, 0])
        need = torch.stack(
            [
                always,
                obs["selectable_mask"].any(-1),
                obs["targetable_mask"].any(-1),
                obs["location_mask"].flatten(1).any(-1) if "location_mask" in obs else always,
            ],
            dim=-1,
        )  # (B, 4): argument has a legal choice
        feasible = obs["action_type_mask"] & ~(u[None] & ~need[:, None]).any(-1)
        return torch.where(feasible.any(-1, keepdim=True), feasible, obs["action_type_mask"])

    # ------------------------------------------------------------------ forward
    def _prepare(self, obs: dict[str, object]) -> tuple[dict[str, torch.Tensor], tuple[int, ...]]:
        """-> (observation tensors flattened to ``(B*T, ...)``, leading dims ``(B,)`` or ``(B, T)``)."""
        prepared = prepare_observation(obs, self.obs_spec, device=self.uses.device)
        lead = tuple(prepared["scalars"].shape[:-1])
        if len(lead) not in (1, 2):
            raise ValueError(f"observation field 'scalars': expected leading dims (B,) or (B, T), got {lead}")
        return {k: v.reshape(-1, *v.shape[len(lead) :]) for k, v in prepared.items()}, lead

    def value(self, obs: dict[str, object], state: State | None = None) -> torch.Tensor:
        """``(*lead)`` value estimates alone: the torso and the first head stage, no action heads (what
        advantage estimation needs; equal to ``forward(obs, ...).value``)."""
        flat, lead = self._prepare(obs)
        return self.value_from_torso(self.torso(flat, lead, state, per_entity=False)[0])

    def value_from_torso(self, torso: TorsoOutput) -> torch.Tensor:
        """``(*lead)`` value estimates of a torso output (``out.torso`` of a forward pass): the value head alone
        (the first head stage), the same numbers as that pass's ``out.value``."""
        assert torso.lead is not None  # set by Torso.forward
        return self.heads.stage1(torso).value.reshape(torso.lead)

    def forward(
        self,
        obs: dict[str, object],
        actions: dict[str, torch.Tensor] | None = None,
        state: State | None = None,
        deterministic: bool = False,
    ) -> PolicyOutput:
        flat, lead = self._prepare(obs)
        given = None if actions is None else self._flatten_actions(actions, lead)
        logits, chosen, value, new_state, torso = self._decide(flat, lead, state, given, deterministic)
        dist = StructuredActionDistribution(logits, self.uses, self.layout, lead)
        rows = given if given is not None else chosen
        out_actions = {k: rows[k].reshape(*lead, *rows[k].shape[1:]) for k in HEADS}
        return PolicyOutput(
            actions=out_actions,
            logp=dist.logp(out_actions, check=False),  # given actions were checked in _flatten_actions
            dist_inputs=dist.flat(),
            value=value.reshape(lead),
            state=new_state,
            distribution=dist,
            torso=torso,
        )

    def act(self, obs: dict[str, object], state: State | None = None, deterministic: bool = False) -> PolicyOutput:
        """The rollout path (RLlib's exploration / inference forward, evaluation): ``forward(obs, state=state,
        deterministic=deterministic)`` under ``torch.inference_mode``, without a distribution object
        (``distribution`` is None), through a TorchScript trace of :meth:`_rollout` per input signature
        (:mod:`agents.nets.traced_step`; the first call of a signature records it). The same actions for the
        same RNG state, the same ``logp``, ``dist_inputs`` and ``value``, bitwise; ordinary tensors without
        autograd history (a learner may teacher-force on them)."""
        with torch.inference_mode():
            flat, lead = self._prepare(obs)
            step = partial(self._rollout, lead=lead, deterministic=deterministic)
            outputs, new_state = split_state(self._steps(self, step, with_state(flat, state), (lead, deterministic)))

        def out(x: torch.Tensor) -> torch.Tensor:  # leading dims back; a normal tensor (clone) out of inference mode
            return x.reshape(*lead, *x.shape[1:]).clone()

        return PolicyOutput(
            actions={k: out(outputs[k]) for k in HEADS},
            logp=out(outputs["logp"]),
            dist_inputs=out(outputs["dist_inputs"]),
            value=out(outputs["value"]),
            state=None if new_state is None else {k: v.clone() for k, v in new_state.items()},
        )

    def _rollout(
        self, tensors: dict[str, torch.Tensor], lead: tuple[int, ...], deterministic: bool
    ) -> dict[str, torch.Tensor]:
        """The pass :meth:`act` traces: flat observation rows (+ LSTM state, :func:`with_state`) -> the chosen
        index per head, ``logp``, ``dist_inputs``, ``value`` (+ the new state). Tensors in, tensors out, and no
        Python branch on their values (the selection loop runs all ``max_selected`` steps, masks are applied
        by ``where`` / ``masked_fill``), so one trace is right for every observation of its shapes."""
        flat, state = split_state(tensors)
        logits, chosen, value, new_state, _ = self._decide(flat, lead, state, None, deterministic)
        logp = joint_log_prob(head_log_probs(logits, chosen, self.uses, self.layout.eos))
        return with_state({**chosen, "logp": logp, "dist_inputs": flat_logits(logits), "value": value}, new_state)

    def _decide(
        self,
        flat: dict[str, torch.Tensor],
        lead: tuple[int, ...],
        state: State | None,
        given: dict[str, torch.Tensor] | None,
        deterministic: bool,
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor, State | None, TorsoOutput]:
        """One autoregressive pass over flat rows ``(B*T, ...)``: -> (per-head masked logits, chosen (or given)
        indices per head, value ``(B*T,)``, LSTM state, the torso's output)."""
        torso, new_state = self.torso(flat, lead, state)
        stage1 = self.heads.stage1(torso)
        at_logits = mask_logits(stage1.action_type_logits, self.legal_action_types(flat), 0)
        action_type = choose(at_logits, None if given is None else given["action_type"], deterministic)
        ar, condition = self.arguments.embed_action_type(torso.state, action_type)
        features = self.heads.stage2(torso, stage1, condition)
        masks = self._argument_masks(flat)
        logits, chosen = self.arguments(features, ar, self.uses[action_type], masks, given, deterministic)
        logits["action_type"], chosen["action_type"] = at_logits, action_type
        return logits, chosen, stage1.value, new_state, torso

    def _argument_masks(self, flat: dict[str, torch.Tensor]) -> ArgumentMasks:
        """The masks :class:`~agents.nets.heads.ArgumentHeads` takes, from the flat observation."""
        cells = None
        if self.obs_spec.entity_position is not None:
            positions = self.torso.positions
            assert positions is not None  # built in __init__
            cells = positions.cell_index(self.torso.entity_xy(flat["entities"]))
        return {
            "selectable": flat["selectable_mask"],
            "targetable": flat["targetable_mask"],
            "location": flat["location_mask"].flatten(1) if "location_mask" in flat else None,
            "entity": flat["entity_mask"],
            "entity_cells": cells,
        }

    def _flatten_actions(self, actions: dict[str, torch.Tensor], lead: tuple[int, ...]) -> dict[str, torch.Tensor]:
        out = {}
        for key in HEADS:
            if key not in actions:
                raise ValueError(f"actions: missing key {key!r}")
            a = torch.as_tensor(actions[key], device=self.uses.device).long()
            trailing = (self.layout.max_selected,) if key == "selected_units" else ()
            if tuple(a.shape) != lead + trailing:
                raise ValueError(f"actions[{key!r}]: expected shape {lead + trailing}, got {tuple(a.shape)}")
            out[key] = a.reshape(-1, *trailing)
        StructuredActionDistribution.check_actions(out, self.layout)
        return out
