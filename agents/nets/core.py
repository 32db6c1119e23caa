"""The optional recurrent core: an LSTM over time with batch-first state tensors (RLlib-friendly)."""

from __future__ import annotations

import torch
from torch import nn

State = dict[str, torch.Tensor]
"""``{"h": (B, num_layers, C), "c": (B, num_layers, C)}``."""


class LSTMCore(nn.Module):
    """``x (B, T, C)``, state -> ``(B, T, C)``, new state. A missing state starts from zeros."""

    def __init__(self, *, channels: int, num_layers: int = 1) -> None:
        super().__init__()
        self.channels, self.num_layers = channels, num_layers
        self.lstm = nn.LSTM(channels, channels, num_layers=num_layers, batch_first=True)

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        zeros = torch.zeros(batch_size, self.num_layers, self.channels, device=device)
        return {"h": zeros, "c": zeros.clone()}

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        b = x.shape[0]
        if state is None:
            state = self.initial_state(b, x.device)
        for key in ("h", "c"):
            if key not in state or tuple(state[key].shape) != (b, self.num_layers, self.channels):
                got = tuple(state[key].shape) if key in state else None
                raise ValueError(f"state[{key!r}]: expected shape {(b, self.num_layers, self.channels)}, got {got}")
        hc = (state["h"].transpose(0, 1).contiguous(), state["c"].transpose(0, 1).contiguous())
        y, (h, c) = self.lstm(x, hc)
        return y, {"h": h.transpose(0, 1), "c": c.transpose(0, 1)}
