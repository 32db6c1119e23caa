"""``PerceiverRLModule``: the token actor-critic as an RLlib RLModule (PPO and APPO)."""

from __future__ import annotations

from typing import Any

from gymnasium import spaces
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchCategorical,
    TorchDiagGaussian,
    TorchMultiCategorical,
)
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.apis import TargetNetworkAPI, ValueFunctionAPI
from ray.rllib.core.rl_module.apis.target_network_api import TARGET_NETWORK_ACTION_DIST_INPUTS
from ray.rllib.core.rl_module.torch import TorchRLModule

from ..config import config_from_dict
from ..token_net import TokenActorCritic, TokenNetConfig
from .eval_once import EvalOnceMixin


def dist_cls_for(action_space: spaces.Space):
    if isinstance(action_space, spaces.Discrete):
        return TorchCategorical
    if isinstance(action_space, spaces.MultiDiscrete):
        return TorchMultiCategorical.get_partial_dist_cls(input_lens=[int(n) for n in action_space.nvec.ravel()])
    return TorchDiagGaussian


class PerceiverRLModule(EvalOnceMixin, TorchRLModule, ValueFunctionAPI, TargetNetworkAPI):
    """RLModule over ``{"tokens": (N, F), "token_mask": (N,)}`` observations.

    ``model_config["token_net"]`` is the experiment's ``model.token_net`` (:class:`TokenNetConfig` as a
    mapping; absent: the defaults); its ``encoder`` picks the torso (``perceiver`` | ``transformer`` |
    ``mlp``). With ``lstm: true`` the module is stateful and inputs carry a time axis ``(B, T, ...)``.
    """

    def setup(self) -> None:
        cfg = config_from_dict(self.model_config.get("token_net", {}), TokenNetConfig)
        tokens = self.observation_space["tokens"]
        self.net = TokenActorCritic(
            num_tokens=tokens.shape[0], token_features=tokens.shape[1], action_space=self.action_space, cfg=cfg
        )
        self.action_dist_cls = dist_cls_for(self.action_space)
        self._eval_if_inference_only()

    def get_initial_state(self) -> Any:
        return self.net.initial_state() or {}

    def _features(self, net: TokenActorCritic, batch: dict[str, Any]):
        obs = batch[Columns.OBS]
        return net.features(obs["tokens"], obs["token_mask"], batch.get(Columns.STATE_IN))

    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        feats, state = self._features(self.net, batch)
        out = {Columns.ACTION_DIST_INPUTS: self.net.dist_inputs(feats), Columns.EMBEDDINGS: feats}
        if state is not None:
            out[Columns.STATE_OUT] = state
        return out

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None):
        if embeddings is None:
            embeddings, _ = self._features(self.net, batch)
        return self.net.value(embeddings)

    # APPO's target network (its importance-sampling "old" policy).
    def make_target_networks(self) -> None:
        self._target_net = make_target_network(self.net)

    def get_target_network_pairs(self):
        return [(self.net, self._target_net)]

    def forward_target(self, batch: dict[str, Any]) -> dict[str, Any]:
        feats, _ = self._features(self._target_net, batch)
        return {TARGET_NETWORK_ACTION_DIST_INPUTS: self._target_net.dist_inputs(feats)}
