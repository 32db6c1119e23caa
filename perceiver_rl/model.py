"""Perceiver IO: input adapter -> encoder -> decoder (with output queries) -> output adapter."""

from __future__ import annotations

import torch
from torch import nn

from .decoder import PerceiverDecoder
from .encoder import PerceiverEncoder


class PerceiverIO(nn.Module):
    """Compose the four stages. The output queries decide what comes out.

    ``forward(inputs, mask=None, queries=None)``:

    - ``input_adapter(inputs) -> (B, M, C)`` (default: identity, inputs already tokens);
    - ``encoder -> latents (B, N, D)``;
    - queries: the caller's ``(B, O, Cq)`` tensor, else ``output_queries(B)`` (e.g. ``TrainableQueries``);
    - ``decoder -> (B, O, K)``; ``output_adapter`` maps that to the task's output (default: identity).

    ``mask (B, M)`` (True = valid) marks the adapted tokens ``(B, M, C)``. Masked slots never influence the
    output, whatever they hold (inf, NaN): the encoder's cross-attention zeroes them. Where ``inputs`` are
    ``(B, M, ...)`` like the mask, their masked slots are zeroed before the input adapter as well, so that an
    adapter with parameters gets finite gradients from them too.
    """

    def __init__(
        self,
        *,
        encoder: PerceiverEncoder,
        decoder: PerceiverDecoder,
        input_adapter: nn.Module | None = None,
        output_queries: nn.Module | None = None,
        output_adapter: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.input_adapter = input_adapter or nn.Identity()
        self.encoder = encoder
        self.output_queries = output_queries
        self.decoder = decoder
        self.output_adapter = output_adapter or nn.Identity()

    def forward(
        self, inputs: torch.Tensor, mask: torch.Tensor | None = None, queries: torch.Tensor | None = None
    ) -> torch.Tensor:
        if mask is not None and mask.dtype == torch.bool and tuple(inputs.shape[:2]) == tuple(mask.shape):
            inputs = torch.where(mask.view(*mask.shape, *(1,) * (inputs.dim() - 2)), inputs, inputs.new_zeros(()))
        x = self.input_adapter(inputs)
        latents = self.encoder(x, mask)
        if queries is None:
            if self.output_queries is None:
                raise ValueError("queries: this PerceiverIO has no output_queries module, pass queries (B, O, C)")
            queries = self.output_queries(x.shape[0])
        return self.output_adapter(self.decoder(queries, latents))
