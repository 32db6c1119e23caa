"""The autoregressive argument heads shared by every head torso.

An autoregressive embedding ``ar (B, C)`` starts as ``Linear(state) + Embedding(action_type)`` and is
carried head to head, each chosen argument adding its embedding where the action type uses it (an
argument's embedding exists only if some action type uses a later argument after it, or, for picked
units, the next pointer step):

    queued (2) -> selected_units (pointer over N entities + a learned EOS key, M steps, chosen units
    masked out, EOS illegal before the first pick) -> target_unit (pointer over N) -> location (H*W at
    full resolution, see below).

The location head scores every cell ``c`` of the ``H x W`` grid against one query ``q = MLP(ar)``::

    logit(c) = <q, Linear(pos(c))> + <q, coarse(c // stride)> + sum_n g(c - cell(n)) <q, key(n)>

``pos`` is the map position encoding the entities were embedded with (:mod:`agents.nets.map_position`), the
coarse features come from the head torso (map skip / decoded grid queries), and the last term is
AlphaStar's scatter connection, softened: a cell inherits the pointer score of the units standing in or
near it, weighted by a Gaussian ``g`` of the cell distance (``location_sigma`` cells; 0 = only the unit's own
cell). "Move to that unit" is then as easy to learn as pointing at the unit, and a click *near* a unit that
paid off raises that unit's score, wherever the unit stands next time. The units selected for this action
do not scatter (their own cells are no target for their own point order; with them, greedy policies sent a
marine to its own cell and idled there). Nothing of size ``(B, H*W, C)`` is built.

Every head is legality-masked; a head the action type does not use is degenerate at its default
(see :mod:`agents.nets.distribution`), so its sample is the default and its log-probability and entropy are 0.
"""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np
import torch
from torch import nn

from envs.spec import ARGUMENTS

from ..distribution import MASK_VALUE, ActionLayout, choose, degenerate_logits, mask_logits
from ..map_position import MapPositionEncoding
from .base import ArgumentFeatures

QUEUED, SELECTED, TARGET, LOCATION = (ARGUMENTS.index(a) for a in ARGUMENTS)


def _mlp(c: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, c))


def _dot(keys: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """``keys (B, N, C)``, ``query (B, C)`` -> ``(B, N)`` dot products."""
    return torch.bmm(keys, query[:, :, None]).squeeze(-1)


def _pick(keys: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``keys (B, N, C)``, ``idx (B,)`` -> ``(B, C)``."""
    return keys.gather(1, idx[:, None, None].expand(-1, 1, keys.shape[-1])).squeeze(1)


class ArgumentMasks(TypedDict):
    """The ``masks`` argument of :meth:`ArgumentHeads.forward` (a plain dict)."""

    selectable: torch.Tensor
    """(B, N) bool."""
    targetable: torch.Tensor
    """(B, N) bool."""
    location: torch.Tensor | None
    """(B, H*W) bool, or None (every cell legal)."""
    entity: torch.Tensor
    """(B, N) entity mask."""
    entity_cells: torch.Tensor | None
    """(B, N) int64 cell of each entity, or None (entities without map positions)."""


class ArgumentHeads(nn.Module):
    """``forward(features, ar, used, masks, given, deterministic) -> (logits, actions)`` for the 4 arguments."""

    def __init__(
        self,
        *,
        layout: ActionLayout,
        uses: np.ndarray,
        state_channels: int,
        channels: int,
        map_size: tuple[int, int],
        stride: int,
        positions: MapPositionEncoding,
        location_sigma: float = 1.0,
    ) -> None:
        """``uses (K, 4)`` bool: an argument's embedding is carried on only if some action type uses it and a
        later argument (otherwise it could not affect anything and would never learn)."""
        super().__init__()
        self.layout, self.channels, self.map_size, self.stride = layout, channels, map_size, stride
        carried = [bool((uses[:, i] & uses[:, i + 1 :].any(1)).any()) for i in range(len(ARGUMENTS))]
        self.action_type_embed = nn.Embedding(layout.num_action_types, channels)
        self.state_embed = nn.Linear(state_channels, channels)
        self.queued_out = nn.Linear(channels, 2)
        self.queued_embed = nn.Embedding(2, channels) if carried[QUEUED] else None
        self.eos_key = nn.Parameter(torch.randn(channels) * channels**-0.5)
        self.select_query = _mlp(channels)
        # A picked unit conditions the next pointer step and the later arguments.
        carries_selection = carried[SELECTED] or layout.max_selected > 1
        self.select_embed = nn.Linear(channels, channels) if carries_selection else None
        self.target_query = _mlp(channels)
        self.target_embed = nn.Linear(channels, channels) if carried[TARGET] else None
        self.positions, self.location_sigma = positions, location_sigma
        side = max(positions.spatial_size)
        offsets = torch.arange(-(side - 1), side)  # the cell distances along an axis, -(side-1) .. side-1
        inv = -0.5 / location_sigma**2 if location_sigma > 0 else 0.0
        # g of every distance, looked up rather than exp'ed per entity: torch's exp takes a slow scalar path below
        # about -87 (most far cells), the same float32 numbers either way
        self._gaussian: torch.Tensor
        self.register_buffer("_gaussian", torch.exp(inv * offsets**2), persistent=False)
        self.location_query = _mlp(channels)
        self.location_pos = nn.Linear(positions.num_channels, channels)
        sizes = dict(layout.sizes, selected_units=layout.eos + 1)
        for head, default in layout.defaults.items():  # what an argument the action type does not use holds
            self.register_buffer(f"_unused_{head}", degenerate_logits((sizes[head],), default), persistent=False)

    def embed_action_type(self, state: torch.Tensor, action_type: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> ``(ar (B, C), condition (B, C))``: the initial autoregressive embedding and the type's embedding."""
        condition = self.action_type_embed(action_type)
        return self.state_embed(state) + condition, condition

    def _unused(self, head: str, used: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """``logits`` where ``used (B,)``, else the degenerate row of ``head`` (see agents.nets.distribution)."""
        used = used.view(-1, *(1,) * (logits.dim() - 1))
        return torch.where(used, logits, getattr(self, f"_unused_{head}"))

    def forward(
        self,
        features: ArgumentFeatures,
        ar: torch.Tensor,
        used: torch.Tensor,
        masks: ArgumentMasks,
        given: dict[str, torch.Tensor] | None,
        deterministic: bool,
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """``used (B, 4)`` bool (ARGUMENTS order); ``masks``: ``selectable (B, N)``, ``targetable (B, N)``,
        ``location (B, H*W)`` or None, ``entity (B, N)``, ``entity_cells (B, N)`` int64 (each entity's cell)
        or None. Returns per-head masked logits and the chosen indices."""
        g = given or {}
        logits: dict[str, torch.Tensor] = {}
        acts: dict[str, torch.Tensor] = {}
        defaults = self.layout.defaults

        # queued
        raw = self.queued_out(torch.relu(features.queued + ar))
        logits["queued"] = self._unused("queued", used[:, QUEUED], raw)
        acts["queued"] = choose(logits["queued"], g.get("queued"), deterministic)
        if self.queued_embed is not None:
            ar = ar + used[:, QUEUED, None] * self.queued_embed(acts["queued"])

        # selected_units: pointer logits <key, query> / sqrt(C) over the N entities and a learned EOS key
        b, n, c = features.entity_keys.shape
        keys = torch.cat([features.entity_keys, self.eos_key.expand(b, 1, c)], dim=1)  # (B, N+1, C)
        pointer_keys = keys / math.sqrt(c)
        sel_logits, acts["selected_units"], ar_sel = self._select(
            keys, pointer_keys, ar, masks["selectable"], g.get("selected_units"), deterministic
        )
        use = used[:, SELECTED]
        logits["selected_units"] = self._unused("selected_units", use, sel_logits)
        acts["selected_units"] = torch.where(use[:, None], acts["selected_units"], self.layout.eos)
        ar = torch.where(use[:, None], ar_sel, ar)

        # target_unit
        raw = _dot(pointer_keys[:, :n], self.target_query(ar))
        masked = mask_logits(raw, masks["targetable"], defaults["target_unit"])
        logits["target_unit"] = self._unused("target_unit", used[:, TARGET], masked)
        acts["target_unit"] = choose(logits["target_unit"], g.get("target_unit"), deterministic)
        if self.target_embed is not None:
            ar = ar + used[:, TARGET, None] * self.target_embed(_pick(features.entity_keys, acts["target_unit"]))

        # location
        # A unit's own cell is no target for its own point order: the selected units do not scatter.
        picked = torch.zeros_like(keys[..., 0], dtype=torch.bool).scatter_(1, acts["selected_units"], 1)
        scattering = masks["entity"].bool() & ~picked[:, :n]  # (B, N); EOS dropped
        raw = self._location(features, ar, scattering, masks["entity_cells"])
        if masks["location"] is not None:
            raw = mask_logits(raw, masks["location"], defaults["location"])
        logits["location"] = self._unused("location", used[:, LOCATION], raw)
        acts["location"] = choose(logits["location"], g.get("location"), deterministic)
        return logits, acts

    def _select(
        self,
        keys: torch.Tensor,
        pointer_keys: torch.Tensor,
        ar: torch.Tensor,
        selectable: torch.Tensor,
        given: torch.Tensor | None,
        deterministic: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``keys (B, N+1, C)`` (EOS last) and ``pointer_keys`` (the same / sqrt(C)) -> ``(logits (B, M, N+1),
        picks (B, M), ar)``. After EOS only EOS is legal."""
        b, eos = keys.shape[0], keys.shape[1] - 1
        # Illegal choices of the next step: unselectable or already chosen units; EOS before the first pick
        # (unless nothing is selectable); after EOS everything but EOS. Never a row without a legal entry.
        illegal = ~torch.cat([selectable, ~selectable.any(-1, keepdim=True)], dim=-1)  # (B, N+1)
        ended = torch.zeros(b, 1, dtype=torch.bool, device=keys.device)
        steps, picks = [], []
        for m in range(self.layout.max_selected):
            step_logits = _dot(pointer_keys, self.select_query(ar)).masked_fill(illegal, MASK_VALUE)
            s = choose(step_logits, None if given is None else given[:, m], deterministic)  # (B,)
            is_eos = (s == eos)[:, None]
            if self.select_embed is not None:
                ar = ar + ~(is_eos | ended) * self.select_embed(_pick(keys, s))
            ended = ended | is_eos
            illegal = illegal.scatter(1, s[:, None], 1) | ended  # 1, not True: TorchScript has no bool Scalar
            illegal[:, eos] = False
            steps.append(step_logits)
            picks.append(s)
        return torch.stack(steps, dim=1), torch.stack(picks, dim=1), ar

    def _location(
        self, features: ArgumentFeatures, ar: torch.Tensor, entity_mask: torch.Tensor, entity_cells: torch.Tensor | None
    ) -> torch.Tensor:
        """-> ``(B, H*W)`` location logits (see the module docstring)."""
        (h, w), s = self.map_size, self.stride
        b = ar.shape[0]
        q = self.location_query(ar)  # (B, C)
        # <q, Linear(pos(c))> for every cell, associated as (q W) pos(c): no (H*W, C) projection of the cells.
        logits = (q @ self.location_pos.weight) @ self.positions.cells().T + q @ self.location_pos.bias[:, None]
        coarse = _dot(features.location, q)  # (B, h*w)
        logits = logits + coarse.view(b, h, 1, w, 1).expand(b, h, s, w, s).reshape(b, -1)
        if entity_cells is not None:
            scores = _dot(features.entity_keys, q) * entity_mask  # (B, N)
            logits = logits + self._scatter(scores, entity_cells)
        return logits / math.sqrt(self.channels)

    def _scatter(self, scores: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
        """``scores (B, N)`` spread over the grid around each entity's cell ``cells (B, N)`` -> ``(B, H*W)``."""
        h, w = self.positions.spatial_size
        if self.location_sigma <= 0:
            return torch.zeros(scores.shape[0], h * w, dtype=scores.dtype, device=scores.device).scatter_add(
                1, cells, scores
            )
        g, zero = self._gaussian, self._gaussian.shape[0] // 2  # g[zero + d] = exp(-d**2 / (2 sigma**2))
        gy = g[zero + torch.arange(h, device=cells.device) - (cells // w)[..., None]]  # (B, N, H)
        gx = g[zero + torch.arange(w, device=cells.device) - (cells % w)[..., None]]  # (B, N, W)
        return torch.bmm((scores[..., None] * gy).transpose(1, 2), gx).reshape(scores.shape[0], h * w)  # (B, H, W)
