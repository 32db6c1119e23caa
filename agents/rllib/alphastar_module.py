"""``AlphaStarRLModule``: the AlphaStar-style policy (structured SC2 actions) as an RLlib RLModule.

Exploration/inference sample the autoregressive action inside the module (``AlphaStarPolicy.act``, the
inference-mode rollout path) and return ``ACTIONS`` with ``ACTION_LOGP`` and the flat ``ACTION_DIST_INPUTS``;
``_forward_train`` teacher-forces the heads on
``batch[ACTIONS]`` so that PPO's re-scoring (``from_logits(dist_inputs).logp(actions)``) is exact.
The observation/action contract comes from the env (``envs.contract_of``) through ``model_config``, beside
the experiment's ``model.policy`` section (``model_config["policy"]``: the :class:`PolicyConfig` as a
mapping; absent: the defaults).

One module for the one policy family: an env without a structured contract in ``model_config`` (a token env:
``entities`` + ``entity_mask``, no planes) gets a :class:`~agents.nets.space_policy.SpacePolicy` (the same torso and
config, heads for its Gym action space) and RLlib's distribution class for that space; the policy samples the
same way inside the module. Both policies' ``act`` sample through a TorchScript trace of the same pass
(:mod:`agents.nets.traced_step`: the same numbers, less CPU time per EnvRunner step); the learner's
``forward_train`` (teacher-forced) runs eagerly.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.apis import TargetNetworkAPI, ValueFunctionAPI
from ray.rllib.core.rl_module.apis.target_network_api import TARGET_NETWORK_ACTION_DIST_INPUTS
from ray.rllib.core.rl_module.torch import TorchRLModule

from envs.spec import ActionSpec, ActionType, ObservationSpec, TokenSpec

from ..experiment.loader import config_from_dict
from ..experiment.plugins import import_plugins
from ..nets.policy import AlphaStarPolicy, PolicyConfig
from ..nets.space_policy import SpacePolicy
from .eval_once import EvalOnceMixin
from .space_distribution import space_distribution_class
from .structured_distribution import distribution_class_for


def contract_to_model_config(obs_spec: ObservationSpec, act_spec: ActionSpec) -> dict:
    """Plain-dict form of the env contract for ``model_config`` (RLlib copies and ships it to workers)."""
    return {"obs_spec": dataclasses.asdict(obs_spec), "act_spec": dataclasses.asdict(act_spec)}


def contract_from_model_config(mc: dict) -> tuple[ObservationSpec, ActionSpec]:
    o, a = dict(mc["obs_spec"]), dict(mc["act_spec"])
    o["spatial_size"] = tuple(o["spatial_size"])
    for key in ("entity_position", "entity_target_position"):
        if o.get(key) is not None:
            o[key] = tuple(o[key])
    a["spatial_size"] = tuple(a["spatial_size"])
    a["action_types"] = tuple(ActionType(**t) for t in a["action_types"])
    return ObservationSpec(**o), ActionSpec(**a)


class AlphaStarRLModule(EvalOnceMixin, TorchRLModule, ValueFunctionAPI, TargetNetworkAPI):
    """RLModule over the structured observation contract (envs/spec.py) with structured actions, or over an
    entity list (``TokenSpec``) with the env's action space. Stateful with ``policy.lstm``; APPO's target network
    is a copy of the policy."""

    def setup(self) -> None:
        import_plugins(self.model_config.get("plugins", ()))  # before the registries are read: user encoders, heads
        config = config_from_dict(self.model_config.get("policy", {}), PolicyConfig)
        if "act_spec" in self.model_config:  # a structured env: build.module_spec shipped its contract
            obs_spec, act_spec = contract_from_model_config(self.model_config)
            self.policy = AlphaStarPolicy(obs_spec, act_spec, config)
            self.action_dist_cls = distribution_class_for(act_spec)
        else:
            n, f = self.observation_space["entities"].shape
            self.policy = SpacePolicy(TokenSpec(num_tokens=n, token_features=f), self.action_space, config)
            self.action_dist_cls = space_distribution_class(self.action_space)
        self._eval_if_inference_only()

    def get_initial_state(self) -> Any:
        state = self.policy.initial_state(1)
        return {} if state is None else {k: v[0].numpy().astype(np.float32) for k, v in state.items()}

    def _act(self, batch: dict[str, Any], deterministic: bool) -> dict[str, Any]:
        out = self.policy.act(batch[Columns.OBS], batch.get(Columns.STATE_IN), deterministic)
        result = {
            Columns.ACTIONS: out.actions,
            Columns.ACTION_LOGP: out.logp,
            Columns.ACTION_DIST_INPUTS: out.dist_inputs,
            Columns.VF_PREDS: out.value,  # the pass computed it: advantage estimation reads it (compute_values)
        }
        if out.state is not None:
            result[Columns.STATE_OUT] = out.state
        return result

    def _forward_inference(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return self._act(batch, deterministic=True)

    def _forward_exploration(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return self._act(batch, deterministic=False)

    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        out = self.policy(batch[Columns.OBS], actions=batch[Columns.ACTIONS], state=batch.get(Columns.STATE_IN))
        # EMBEDDINGS as RLlib's ValueFunctionAPI means them: the shared encoder's output (here the torso's), which
        # the PPO / APPO learners hand back to compute_values so that it need not run the torso again.
        result = {Columns.ACTION_DIST_INPUTS: out.dist_inputs, Columns.EMBEDDINGS: out.torso}
        if out.state is not None:
            result[Columns.STATE_OUT] = out.state
        return result

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None):
        """``(B,)`` or ``(B, T)`` value estimates of ``batch`` (``ValueFunctionAPI``). ``embeddings``: the torso
        output of a ``_forward_train`` pass over this batch (its ``Columns.EMBEDDINGS``), on which only the value
        head runs (PPO's value loss). Without them (advantage estimation on the EnvRunners' samples) the values the
        EnvRunner's pass computed with each step (``Columns.VF_PREDS``) are used where the batch has them and
        ``Columns.LOSS_MASK`` marks a sampled step; the torso runs for the rest (the one step PPO appends to each
        episode chunk to bootstrap from, which holds a copy of the step before it), and for whole sequences (LSTM)."""
        if embeddings is not None:
            return self.policy.value_from_torso(embeddings)
        stored, sampled = batch.get(Columns.VF_PREDS), batch.get(Columns.LOSS_MASK)
        if stored is None or sampled is None or Columns.STATE_IN in batch or stored.dim() != 1:
            return self.policy.value(batch[Columns.OBS], state=batch.get(Columns.STATE_IN))
        fresh = ~sampled.bool()
        values = stored.clone()
        if fresh.any():
            values[fresh] = self.policy.value({k: v[fresh] for k, v in batch[Columns.OBS].items()})
        return values

    # APPO's target network.
    def make_target_networks(self) -> None:
        self._target_policy = make_target_network(self.policy)

    def get_target_network_pairs(self):
        return [(self.policy, self._target_policy)]

    def forward_target(self, batch: dict[str, Any]) -> dict[str, Any]:
        out = self._target_policy(batch[Columns.OBS], actions=batch[Columns.ACTIONS], state=batch.get(Columns.STATE_IN))
        return {TARGET_NETWORK_ACTION_DIST_INPUTS: out.dist_inputs}
