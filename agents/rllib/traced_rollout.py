"""The EnvRunner's rollout step of a :class:`~agents.nets.space_policy.SpacePolicy` as a TorchScript trace.

At the sizes of a token env (CartPole: 4 tokens, 8 latents, width 64, batch = ``num_envs_per_env_runner``) the
policy's forward is ~230 small ops, and their Python dispatch (module calls, argument checks, the attention's
choice of form) costs more than the arithmetic: ~1.1 ms per step eager. ``torch.jit.trace`` records the step
once per input shape (an EnvRunner sees one: its vectorised batch) and replays the same ATen kernels from C++:
the same numbers (actions for the same RNG state, ``logp``, ``dist_inputs``), ~2x faster.

The trace holds the policy's own parameter tensors, so RLlib's weight sync (``set_state`` ->
``load_state_dict``, an in-place copy) reaches it. Only an inference-only module in eval mode uses it
(an EnvRunner's copy, :mod:`agents.rllib.eval_once`); the learner's module and the teacher-forced
``forward_train`` never do.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ..nets.core import State
from ..nets.policy import PolicyOutput
from ..nets.space_policy import SpacePolicy

STATE_KEYS = ("h", "c")


class _Step(nn.Module):
    """``SpacePolicy.decide`` for fixed leading dims and mode, tensors in and out (what ``jit.trace`` records)."""

    def __init__(self, policy: SpacePolicy, lead: tuple[int, ...], deterministic: bool) -> None:
        super().__init__()
        self.policy, self.lead, self.deterministic = policy, lead, deterministic

    def forward(self, entities: torch.Tensor, entity_mask: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        flat = {"entities": entities, "entity_mask": entity_mask}
        out = self.policy.decide(flat, self.lead, dict(zip(STATE_KEYS, state)) or None, None, self.deterministic)
        new_state = () if out.state is None else tuple(out.state[k] for k in STATE_KEYS)
        return (out.actions, out.logp, out.dist_inputs, *new_state)


class TracedRollout:
    """``policy.act`` through a trace per (input shapes, deterministic); not an ``nn.Module`` attribute of the
    RLModule, so its state dict and checkpoints are unchanged."""

    def __init__(self, policy: SpacePolicy) -> None:
        self.policy = policy
        self._traces: dict[tuple, torch.jit.ScriptModule] = {}

    def __getstate__(self) -> dict:  # traces are neither picklable nor worth copying: re-recorded on first use
        return {"policy": self.policy}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["policy"])

    @torch.inference_mode()
    def __call__(self, obs: dict[str, object], state: State | None, deterministic: bool) -> PolicyOutput:
        flat, lead = self.policy.prepare(obs)
        inputs = (flat["entities"], flat["entity_mask"], *(() if state is None else (state[k] for k in STATE_KEYS)))
        key = (tuple(tuple(x.shape) for x in inputs), lead, deterministic)
        step = self._traces.get(key)
        if step is None:
            # Shape checks frozen for this one shape are intended; jit.trace is deprecated in torch 2.13 (still
            # supported): torch.export is its successor for a fixed-shape step.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                step = torch.jit.trace(_Step(self.policy, lead, deterministic), inputs, check_trace=False)
            self._traces[key] = step
        actions, logp, dist_inputs, *new_state = step(*inputs)
        return PolicyOutput(actions, logp, dist_inputs, value=None, state=dict(zip(STATE_KEYS, new_state)) or None)
