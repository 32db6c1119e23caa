"""Skip TorchRLModule's per-call eval()/train() round trip on an EnvRunner's inference-only copy.

``TorchRLModule.forward_exploration`` / ``forward_inference`` switch the module to eval mode and back on
every call: two walks over all submodules, about a third of an EnvRunner's time per step at CartPole
sizes. An inference-only copy is never trained, so it goes to eval mode once in ``setup`` and calls the
``_forward_*`` methods directly; the outputs are the same.
"""

from __future__ import annotations

from typing import Any


class EvalOnceMixin:
    """Mix in before ``TorchRLModule``; call :meth:`_eval_if_inference_only` at the end of ``setup()``."""

    def _eval_if_inference_only(self) -> None:
        if self.inference_only:
            self.eval()

    def forward_exploration(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        if self.training:
            return super().forward_exploration(batch, **kwargs)
        return self._forward_exploration(batch, **kwargs)

    def forward_inference(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        if self.training:
            return super().forward_inference(batch, **kwargs)
        return self._forward_inference(batch, **kwargs)
