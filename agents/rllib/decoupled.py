"""PPO's decoupled objective for a batch sampled one update behind (``env_runners.overlap``).

RLlib's PPO clips the ratio ``pi_theta / pi_behaviour``: right when the EnvRunners sampled with the learner's
weights. Overlapped, they sampled with the weights from before the last update, so the trust region would be
centred one update back and many samples would start the update already clipped. Hilton et al. (2021, "Batch
size-invariance for policy optimization") decouple the two roles: the *proximal* policy (the learner's weights
at the start of this update) centres the clip, and an importance weight ``pi_prox / pi_behaviour`` corrects for
the behaviour policy::

    L = E_behaviour[ w * min(r * A, clip(r, 1 - eps, 1 + eps) * A) ],  r = pi_theta / pi_prox,
    w = min(1, pi_prox / pi_behaviour)    (truncated at 1, as IMPALA's V-trace truncates its rho)

Since ``w >= 0`` this is RLlib's loss with ``ACTION_LOGP := log pi_prox`` and ``ADVANTAGES := w * A``, so two
learner connector pieces do it and the loss stays RLlib's:

- :class:`ProximalPass` (before advantage estimation): one teacher-forced pass without gradients over the batch
  with the learner's current weights: ``log pi_prox`` of the sampled actions, and the values, fresh, which advantage
  estimation then reads (``Columns.VF_PREDS``; ``AlphaStarRLModule.compute_values``) instead of the sampler's;
- :class:`DecoupledClip` (after it): the substitution above.

The pass costs about a sixth of an update of two epochs; it is what keeps learning per sample where it was.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing

PROXIMAL_LOGP = "proximal_logp"
"""Batch column: ``log pi_prox`` of the sampled actions (:class:`ProximalPass`)."""
CHUNK = 1024
"""Rows per forward of the pass (bounds its activations on large batches)."""


def _rows(data: Any, start: int, stop: int) -> Any:
    if isinstance(data, dict):
        return {k: _rows(v, start, stop) for k, v in data.items()}
    return data[start:stop]


class ProximalPass(ConnectorV2):
    """Before advantage estimation: ``PROXIMAL_LOGP`` and fresh ``VF_PREDS`` from the learner's current weights."""

    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, **kwargs) -> Any:
        for module_id, columns in batch.items():
            module = rl_module[module_id]
            n = len(columns[Columns.ACTION_LOGP])
            dist_class = module.get_train_action_dist_cls()
            logps, values = [], []
            with torch.no_grad():
                for start in range(0, n, CHUNK):
                    part = _rows(columns, start, start + CHUNK)
                    out = module.forward_train(part)
                    logps.append(dist_class.from_logits(out[Columns.ACTION_DIST_INPUTS]).logp(part[Columns.ACTIONS]))
                    values.append(module.compute_values(part, embeddings=out.get(Columns.EMBEDDINGS)))
            columns[PROXIMAL_LOGP] = torch.cat(logps)
            columns[Columns.VF_PREDS] = torch.cat(values)
        return batch


class DecoupledClip(ConnectorV2):
    """After advantage estimation: ``ACTION_LOGP := PROXIMAL_LOGP``, ``ADVANTAGES *= min(1, pi_prox / pi_behaviour)``."""

    def __call__(self, *, rl_module, batch: dict[str, Any], episodes, **kwargs) -> Any:
        for columns in batch.values():
            proximal = columns.pop(PROXIMAL_LOGP)
            weight = torch.exp(proximal - columns[Columns.ACTION_LOGP]).clamp(max=1.0)
            columns[Postprocessing.ADVANTAGES] = columns[Postprocessing.ADVANTAGES] * weight
            columns[Columns.ACTION_LOGP] = proximal
        return batch
