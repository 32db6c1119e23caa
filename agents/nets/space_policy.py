"""The policy over a Gym action space: an entity list -> the torso -> action-space heads (pure torch; the RLlib
module wraps it, as it wraps :class:`~agents.nets.policy.AlphaStarPolicy`).

A token env's observation (:class:`envs.spec.TokenSpec`) is an entity list with no spatial map and no scalars:
``entities (N, F)`` + ``entity_mask (N,)``. The torso is the structured policy's (one entity-encoder registry,
``agents.nets.encoders.ENTITY_ENCODERS``; one LSTM core), configured by the same :class:`~agents.nets.policy.PolicyConfig`;
the action comes from the env's action space (``agents.nets.action_space``: Discrete, MultiDiscrete, Box), its heads
from ``agents.nets.heads.space.ACTION_SPACE_HEADS`` (``queries`` | ``mlp``)::

    policy = SpacePolicy(TokenSpec(num_tokens=4, token_features=11), spaces.Discrete(2), PolicyConfig(...))
    out = policy(obs)                             # sample;  deterministic=True: greedy;  actions=...: given
    out = policy.act(obs[, state, deterministic]) # the rollout path: policy(obs) under inference mode, through
                                                  # a jit trace of the same pass (agents.nets.traced_step)
    out = policy.decide(*policy.prepare(obs), ...) # policy(obs, ...) in its two steps: the checked, flattened
                                                  # tensors, then the traceable pass
    out.actions      (B,) int64 (Discrete), (B, k) int64 (MultiDiscrete), (B, d) float32 (Box)
    out.logp         (B,)
    out.dist_inputs  (B, L) flat (layout: agents.nets.action_space; RLlib's Torch* distributions read it)
    out.value        (B,)
    out.state        LSTM state {"h", "c": (B, layers, C)} or None
    out.torso        the torso's output the heads read (forward only, None from act)
    policy.value(obs[, state]) == policy.value_from_torso(out.torso) == out.value

``obs``: ``entities`` / ``entity_mask`` with leading dims ``(B,)``, or ``(B, T)`` through the LSTM core (outputs
then have leading dims ``(B, T)``). ``out.distribution`` is None (``policy.actions.entropy(out.dist_inputs)``).
"""

from __future__ import annotations

from functools import partial

import torch
from gymnasium import spaces
from torch import nn

from envs.spec import TokenSpec

from .action_space import space_actions
from .core import State
from .heads.space import SpaceHeadDims, build_space_heads
from .policy import PolicyConfig, PolicyOutput
from .torso import Torso, TorsoOutput
from .traced_step import TracedSteps, split_state, with_state


class SpacePolicy(nn.Module):
    """Entity list -> :class:`~agents.nets.torso.Torso` (entity encoder, [LSTM]) -> action-space heads + value."""

    _device: torch.Tensor

    def __init__(self, token_spec: TokenSpec, action_space: spaces.Space, config: PolicyConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or PolicyConfig()
        self.token_spec = token_spec
        self.actions = space_actions(action_space)
        self.torso = Torso(obs_spec=token_spec, config=cfg, positions=None)
        dims = SpaceHeadDims(
            head_sizes=self.actions.head_sizes,
            entity_channels=self.torso.entity_encoder.output_channels,
            state_channels=cfg.state_channels,
            channels=cfg.head_channels,
            num_heads=cfg.head_attention_heads,
        )
        self.heads = build_space_heads(cfg.heads, dims)
        self.register_buffer("_device", torch.zeros(0), persistent=False)
        self._steps = TracedSteps(enabled=cfg.trace_rollout)  # act's traces (not a submodule: state dicts unchanged)

    def initial_state(self, batch_size: int) -> State | None:
        """Zero LSTM state ``{"h", "c": (B, layers, C)}``, or None without a core."""
        core = self.torso.core
        return None if core is None else core.initial_state(batch_size, self._device.device)

    def prepare(self, obs: dict[str, object]) -> tuple[dict[str, torch.Tensor], tuple[int, ...]]:
        """-> (``entities (B*T, N, F)`` float, ``entity_mask (B*T, N)`` bool, leading dims ``(B,)`` or ``(B, T)``)."""
        f = self.token_spec.token_features
        entities = torch.as_tensor(obs["entities"], dtype=torch.float32, device=self._device.device)
        mask = torch.as_tensor(obs["entity_mask"], device=self._device.device).bool()
        lead = tuple(entities.shape[:-2])
        if entities.dim() not in (3, 4) or entities.shape[-1] != f:
            raise ValueError(
                f"observation field 'entities': expected shape (B, [T,] N, {f}), got {tuple(entities.shape)}"
            )
        if tuple(mask.shape) != tuple(entities.shape[:-1]):
            raise ValueError(
                f"observation field 'entity_mask': expected shape {tuple(entities.shape[:-1])}, got {tuple(mask.shape)}"
            )
        n = entities.shape[-2]
        return {"entities": entities.reshape(-1, n, f), "entity_mask": mask.reshape(-1, n)}, lead

    def decide(
        self,
        flat: dict[str, torch.Tensor],
        lead: tuple[int, ...],
        state: State | None = None,
        actions: torch.Tensor | None = None,
        deterministic: bool = False,
    ) -> PolicyOutput:
        """``forward`` on a :meth:`prepare`'d observation: torso, heads, then the chosen (or the given ``actions``,
        checked) actions and their log-probability. Tensors in, tensors out, no Python branch on their values:
        :meth:`act` traces it per input shape (:mod:`agents.nets.traced_step`)."""
        torso, new_state = self.torso(flat, lead, state)
        outputs, value = self.heads(torso)
        dist_inputs = self.actions.dist_inputs(outputs)
        rows = dist_inputs.shape[0]
        if actions is None:
            chosen = self.actions.choose(dist_inputs, deterministic)
        else:
            given = torch.as_tensor(actions, device=dist_inputs.device)
            chosen = self.actions.check(given.reshape(rows, *given.shape[len(lead) :]), rows)
        logp = self.actions.log_prob(dist_inputs, chosen)

        def unflat(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(*lead, *x.shape[1:])

        return PolicyOutput(unflat(chosen), unflat(logp), unflat(dist_inputs), unflat(value), new_state, torso=torso)

    def forward(
        self,
        obs: dict[str, object],
        actions: torch.Tensor | None = None,
        state: State | None = None,
        deterministic: bool = False,
    ) -> PolicyOutput:
        return self.decide(*self.prepare(obs), state, actions, deterministic)

    def act(self, obs: dict[str, object], state: State | None = None, deterministic: bool = False) -> PolicyOutput:
        """The rollout path: ``forward(obs, state=state, deterministic=deterministic)`` under inference mode
        (without ``torso``), through a TorchScript trace of that pass per input signature
        (:mod:`agents.nets.traced_step`; the first call of a signature records it): the same numbers, bitwise."""
        with torch.inference_mode():
            flat, lead = self.prepare(obs)
            step = partial(self._rollout, lead=lead, deterministic=deterministic)
            out, new_state = split_state(self._steps(self, step, with_state(flat, state), (lead, deterministic)))
        return PolicyOutput(out["actions"], out["logp"], out["dist_inputs"], out["value"], new_state)

    def _rollout(
        self, tensors: dict[str, torch.Tensor], lead: tuple[int, ...], deterministic: bool
    ) -> dict[str, torch.Tensor]:
        """The pass :meth:`act` traces: :meth:`decide` on the prepared tensors (+ LSTM state, :func:`with_state`)."""
        flat, state = split_state(tensors)
        out = self.decide(flat, lead, state, None, deterministic)
        assert isinstance(out.actions, torch.Tensor)  # an action-space policy's actions are one tensor
        outputs = {"actions": out.actions, "logp": out.logp, "dist_inputs": out.dist_inputs, "value": out.value}
        return with_state(outputs, out.state)

    def value(self, obs: dict[str, object], state: State | None = None) -> torch.Tensor:
        """``(*lead)`` value estimates alone (equal to ``forward(obs, ...).value``)."""
        flat, lead = self.prepare(obs)
        return self.value_from_torso(self.torso(flat, lead, state, per_entity=False)[0])

    def value_from_torso(self, torso: TorsoOutput) -> torch.Tensor:
        """``(*lead)`` value estimates of a torso output (``out.torso`` of a forward pass): the heads on it, the
        same numbers as that pass's ``out.value``."""
        return self.heads(torso)[1].reshape(torso.lead)
