"""Actions of a Gym action space (``Discrete``, 1-D ``MultiDiscrete``, 1-D ``Box``): the widths of the action
heads, the flat distribution inputs and the distribution over them (pure torch).

The flat layout is the one RLlib's ``TorchCategorical`` / ``TorchMultiCategorical`` / ``TorchDiagGaussian`` read,
so the RLModule gives PPO those classes for the same ``dist_inputs``:

- ``Discrete(n)``: one head, ``n`` logits;
- ``MultiDiscrete(nvec)``: one head per component, ``nvec[i]`` logits each, concatenated;
- ``Box((d,))``: one head of ``d`` means, then ``d`` log-stds (a learned, state-independent parameter).

``ACTION_SPACES`` maps the space's class to its :class:`SpaceActions` subclass; :func:`space_actions` builds it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from .distribution import choose


class SpaceActions(nn.Module):
    """Base: ``head_sizes`` (the output width of each action head) and, on flat ``dist_inputs (R, L)``,
    ``choose`` / ``log_prob`` / ``entropy``. ``dist_inputs(outputs)`` turns the heads' concatenated outputs
    ``(R, sum(head_sizes))`` into the flat layout."""

    head_sizes: list[int]

    def dist_inputs(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs

    def choose(self, dist_inputs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        """Sampled (or the most likely) actions ``(R, *action_shape)``."""
        raise NotImplementedError

    def log_prob(self, dist_inputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``(R,)`` log-probability of ``actions (R, *action_shape)``."""
        raise NotImplementedError

    def entropy(self, dist_inputs: torch.Tensor) -> torch.Tensor:
        """``(R,)``."""
        raise NotImplementedError

    def check(self, actions: torch.Tensor, rows: int) -> torch.Tensor:
        """``actions`` as ``(rows, *action_shape)`` of the action dtype; ``ValueError`` naming the shape otherwise."""
        raise NotImplementedError


class CategoricalActions(SpaceActions):
    """``Discrete(n)`` (actions ``(R,)``) or a 1-D ``MultiDiscrete(nvec)`` (actions ``(R, len(nvec))``): one
    categorical per component."""

    def __init__(self, space: spaces.Discrete | spaces.MultiDiscrete) -> None:
        super().__init__()
        self.components: int | None
        if isinstance(space, spaces.Discrete):
            self.components, self.head_sizes = None, [int(space.n)]
        else:
            self.components, self.head_sizes = len(space.nvec), [int(n) for n in space.nvec]

    def _per_component(self, actions: torch.Tensor) -> torch.Tensor:
        return actions[:, None] if self.components is None else actions

    def choose(self, dist_inputs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        picks = [choose(logits, None, deterministic) for logits in dist_inputs.split(self.head_sizes, -1)]
        return picks[0] if self.components is None else torch.stack(picks, -1)

    def log_prob(self, dist_inputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        per = self._per_component(actions.long())
        logps = [
            torch.log_softmax(logits.float(), -1).gather(-1, per[:, i, None]).squeeze(-1)
            for i, logits in enumerate(dist_inputs.split(self.head_sizes, -1))
        ]
        return torch.stack(logps).sum(0)

    def entropy(self, dist_inputs: torch.Tensor) -> torch.Tensor:
        terms = []
        for logits in dist_inputs.split(self.head_sizes, -1):
            logp = torch.log_softmax(logits.float(), -1)
            terms.append(-(logp.exp() * logp).sum(-1))
        return torch.stack(terms).sum(0)

    def check(self, actions: torch.Tensor, rows: int) -> torch.Tensor:
        shape = (rows,) if self.components is None else (rows, self.components)
        if tuple(actions.shape) != shape:
            raise ValueError(f"actions: expected shape {shape}, got {tuple(actions.shape)}")
        per = self._per_component(actions.long())
        if ((per < 0) | (per >= per.new_tensor(self.head_sizes))).any():
            raise ValueError(f"actions: expected values in [0, n) per component, n = {self.head_sizes}")
        return actions.long()


class GaussianActions(SpaceActions):
    """A 1-D ``Box((d,))``: a diagonal Gaussian, means from the head, log-stds a learned parameter (zeros at
    first); actions ``(R, d)`` float, not clipped to the box (RLlib's action connectors clip or unsquash)."""

    def __init__(self, space: spaces.Box) -> None:
        super().__init__()
        (d,) = space.shape
        self.head_sizes = [d]
        self.log_std = nn.Parameter(torch.zeros(d))

    def dist_inputs(self, outputs: torch.Tensor) -> torch.Tensor:
        return torch.cat([outputs, self.log_std.expand_as(outputs)], dim=-1)

    def choose(self, dist_inputs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        mean, log_std = dist_inputs.chunk(2, -1)
        return mean if deterministic else mean + log_std.exp() * torch.randn_like(mean)

    def log_prob(self, dist_inputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        mean, log_std = dist_inputs.chunk(2, -1)
        z = (actions - mean) * torch.exp(-log_std)
        return (-0.5 * z.square() - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def entropy(self, dist_inputs: torch.Tensor) -> torch.Tensor:
        _, log_std = dist_inputs.chunk(2, -1)
        return (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum(-1)

    def check(self, actions: torch.Tensor, rows: int) -> torch.Tensor:
        shape = (rows, self.head_sizes[0])
        if tuple(actions.shape) != shape:
            raise ValueError(f"actions: expected shape {shape}, got {tuple(actions.shape)}")
        return actions.float()


ACTION_SPACES: dict[type[spaces.Space], type[SpaceActions]] = {
    spaces.Discrete: CategoricalActions,
    spaces.MultiDiscrete: CategoricalActions,
    spaces.Box: GaussianActions,
}
"""Gym action-space class -> its :class:`SpaceActions` (1-D spaces only)."""


def space_actions(space: spaces.Space) -> SpaceActions:
    """The :class:`SpaceActions` of ``space``; ``ValueError`` naming it when it is not supported."""
    kind = ACTION_SPACES.get(type(space))
    if kind is None or (not isinstance(space, spaces.Discrete) and np.ndim(space.sample()) != 1):
        raise ValueError(f"action space {space} is not supported (Discrete, 1-D MultiDiscrete or 1-D Box)")
    return kind(space)
