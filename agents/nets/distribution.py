"""The structured (autoregressive) action distribution and its flat layout.

RLlib carries one flat float tensor per sample between rollout and loss (``ACTION_DIST_INPUTS``).
Ours is the concatenation of the policy's per-head logits, already legality-masked and teacher-forced on
the action the policy chose (or was given)::

    action_type     K
    queued          2
    selected_units  M * (N + 1)     step-major; index N is end-of-selection (EOS)
    target_unit     N
    location        H * W           flat y * W + x

with ``N = max_entities`` and ``M = max_selected`` of the :class:`~envs.spec.ActionSpec`.

Conventions that make ``from_flat(dist_inputs).logp(actions)`` equal the policy's own log-probability:

- illegal entries hold ``MASK_VALUE`` (a large finite negative, never ``-inf``: entropy and KL stay finite);
- a head whose argument the chosen action type does not use, and every selected_units step after EOS,
  is *degenerate*: ``0`` at its default index (queued 0, EOS, target 0, location 0), ``MASK_VALUE``
  elsewhere, so it has entropy exactly 0;
- ``logp(actions)`` = action-type term + the terms of the arguments the chosen type uses (selected_units:
  the steps up to and including the first EOS); unused arguments contribute exactly 0 whatever their value.

``entropy()`` is the action-type entropy plus the entropies of the argument heads conditioned on the
teacher-forced prefix (the chain rule's single-sample estimate of the joint entropy). ``sample()`` /
``deterministic()`` of a distribution rebuilt from flat inputs draw each head from those stored
conditionals (valid for the prefix they were computed for); to act, use the policy's own ``actions``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from envs.spec import ARGUMENTS, ActionSpec

MASK_VALUE = -1e9
"""Logit of an illegal choice: finite, so that ``0 * logit`` stays 0 in entropies and KLs."""

HEADS = ("action_type",) + ARGUMENTS


def mask_logits(logits: torch.Tensor, legal: torch.Tensor, default: int) -> torch.Tensor:
    """``logits (..., n)`` with illegal entries set to ``MASK_VALUE``; ``legal (..., n)`` bool.

    A row with no legal entry becomes degenerate at ``default`` (finite, deterministic) instead of uniform.
    """
    n = logits.shape[-1]
    is_default = torch.arange(n, device=logits.device) == default
    legal = legal | (~legal.any(-1, keepdim=True) & is_default)
    return logits.masked_fill(~legal, MASK_VALUE)


def degenerate_logits(shape: tuple[int, ...], default: int) -> torch.Tensor:
    """``(*shape)`` float logits with 0 at ``default`` on the last axis and ``MASK_VALUE`` elsewhere."""
    is_default = torch.arange(shape[-1]) == default
    return torch.where(is_default, 0.0, MASK_VALUE).expand(shape)


def choose(logits: torch.Tensor, given: torch.Tensor | None, deterministic: bool) -> torch.Tensor:
    """The given indices (teacher forcing), else argmax or a sample of ``logits (B, n)`` -> ``(B,)`` int64."""
    if given is not None:
        return given.long()
    if deterministic:
        return logits.argmax(-1)
    # torch.multinomial(p, 1)'s own algorithm (argmax of p / Exp(1) noise: the same draws for the same RNG
    # state), without its validity checks (three reductions over p, ~0.1 ms per call on a CPU).
    p = torch.softmax(logits.float(), -1)
    return (p / torch.empty_like(p).exponential_()).argmax(-1)


@dataclass(frozen=True)
class ActionLayout:
    """Sizes of the heads in the flat ``dist_inputs`` vector."""

    num_action_types: int
    max_entities: int
    max_selected: int
    num_locations: int

    @classmethod
    def from_spec(cls, spec: ActionSpec) -> ActionLayout:
        h, w = spec.spatial_size
        return cls(spec.num_action_types, spec.max_entities, spec.max_selected, h * w)

    @property
    def eos(self) -> int:
        return self.max_entities

    @property
    def sizes(self) -> dict[str, int]:
        n = self.max_entities
        return {
            "action_type": self.num_action_types,
            "queued": 2,
            "selected_units": self.max_selected * (n + 1),
            "target_unit": n,
            "location": self.num_locations,
        }

    @property
    def width(self) -> int:
        """L: the length of one flat ``dist_inputs`` row."""
        return sum(self.sizes.values())

    @property
    def defaults(self) -> dict[str, int]:
        """Index of each argument when unused (and of selected_units padding)."""
        return {"queued": 0, "selected_units": self.eos, "target_unit": 0, "location": 0}


class StructuredActionDistribution:
    """Per-head logits ``{head: (R, n) | selected_units (R, M, N+1)}`` plus which arguments each type uses.

    ``uses (K, 4)`` bool follows ``envs.spec.ARGUMENTS`` (``ActionSpec.uses_matrix()``). The R rows may
    stand for leading dims ``lead`` (e.g. ``(B, T)``): actions then come as ``(*lead)`` / ``(*lead, M)``
    and ``logp`` / ``entropy`` / ``kl`` return ``(*lead)``.
    """

    def __init__(
        self,
        logits: dict[str, torch.Tensor],
        uses: torch.Tensor,
        layout: ActionLayout,
        lead: tuple[int, ...] | None = None,
    ) -> None:
        self.logits, self.uses, self.layout = logits, uses.to(torch.bool), layout
        self.lead = tuple(lead) if lead is not None else (logits["action_type"].shape[0],)

    # ------------------------------------------------------------------ flat layout
    @classmethod
    def from_flat(cls, dist_inputs: torch.Tensor, action_spec: ActionSpec) -> StructuredActionDistribution:
        """Rebuild from ``dist_inputs (*lead, L)`` (as produced by the policy; lead = (B,) or (B, T))."""
        layout = ActionLayout.from_spec(action_spec)
        if dist_inputs.dim() < 2 or dist_inputs.shape[-1] != layout.width:
            raise ValueError(f"dist_inputs: expected shape (B, {layout.width}), got {tuple(dist_inputs.shape)}")
        lead = tuple(dist_inputs.shape[:-1])
        rows = dist_inputs.reshape(-1, layout.width)
        parts = dict(zip(HEADS, torch.split(rows, list(layout.sizes.values()), dim=-1)))
        parts["selected_units"] = parts["selected_units"].reshape(-1, layout.max_selected, layout.eos + 1)
        uses = torch.as_tensor(action_spec.uses_matrix(), device=dist_inputs.device)
        return cls(parts, uses, layout, lead)

    def flat(self) -> torch.Tensor:
        """``(*lead, L)``: the heads concatenated in layout order."""
        rows = flat_logits(self.logits)
        return rows.reshape(*self.lead, rows.shape[-1])

    def _rows(self, actions: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Actions with leading dims ``lead`` -> rows ``(R,)`` / ``(R, M)``."""
        out = {}
        for h in HEADS:
            if h not in actions:
                raise ValueError(f"actions: missing key {h!r}")
            a = torch.as_tensor(actions[h])
            trailing = (self.layout.max_selected,) if h == "selected_units" else ()
            if tuple(a.shape) != self.lead + trailing:
                raise ValueError(f"actions[{h!r}]: expected shape {self.lead + trailing}, got {tuple(a.shape)}")
            out[h] = a.reshape(-1, *trailing)
        return out

    # ------------------------------------------------------------------ log-probability
    @staticmethod
    def check_actions(actions: dict[str, torch.Tensor], layout: ActionLayout) -> None:
        """Raise ``ValueError`` naming the key of ``actions`` that is missing, mis-shaped or out of range."""
        if "action_type" not in actions:
            raise ValueError("actions: missing key 'action_type'")
        b = actions["action_type"].shape[0]
        limits = dict(layout.sizes, selected_units=layout.eos + 1)
        for h in HEADS:
            if h not in actions:
                raise ValueError(f"actions: missing key {h!r}")
            a = actions[h]
            shape = (b, layout.max_selected) if h == "selected_units" else (b,)
            if tuple(a.shape) != shape:
                raise ValueError(f"actions[{h!r}]: expected shape {shape}, got {tuple(a.shape)}")
            if a.numel() and (int(a.min()) < 0 or int(a.max()) >= limits[h]):
                got = f"{int(a.min())}..{int(a.max())}"
                raise ValueError(f"actions[{h!r}]: indices must lie in [0, {limits[h]}), got {got}")

    def selection_steps(self, selected: torch.Tensor) -> torch.Tensor:
        """``(B, M)`` bool: the steps of ``selected (B, M)`` up to and including the first EOS."""
        return selection_steps(selected, self.layout.eos)

    def head_logps(self, actions: dict[str, torch.Tensor], check: bool = True) -> dict[str, torch.Tensor]:
        """``{head: (B,)}`` log-probability terms, unused arguments already 0.

        ``check=False`` skips the range checks (a host sync) for actions known to be valid."""
        actions = self._rows(actions)
        if check:
            self.check_actions(actions, self.layout)
        terms = head_log_probs(self.logits, actions, self.uses, self.layout.eos)
        return {h: t.reshape(self.lead) for h, t in terms.items()}

    def logp(self, actions: dict[str, torch.Tensor], check: bool = True) -> torch.Tensor:
        """``(B,)``: log-probability of the structured ``actions`` (dict of int64 tensors)."""
        return joint_log_prob(self.head_logps(actions, check))

    # ------------------------------------------------------------------ entropy / KL
    def entropy(self) -> torch.Tensor:
        """``(B,)``: action-type entropy + entropies of the (teacher-forced) argument heads."""
        total: torch.Tensor | float = 0.0
        for h in HEADS:
            logits = self.logits[h].float()
            # p from softmax, not logp.exp(): torch's exp takes a slow scalar path below about -87 (every masked
            # entry), 10-15x slower on (B, H*W) location logits (docs/benchmarks.md)
            ent = -(torch.softmax(logits, -1) * torch.log_softmax(logits, -1)).sum(-1)
            total = total + (ent.sum(-1) if h == "selected_units" else ent)
        assert isinstance(total, torch.Tensor)  # HEADS is not empty
        return total.reshape(self.lead)

    def kl(self, other: StructuredActionDistribution) -> torch.Tensor:
        """``(B,)``: KL(self || other), head by head (both teacher-forced on the same actions)."""
        total: torch.Tensor | float = 0.0
        for h in HEADS:
            logits = self.logits[h].float()
            p = torch.log_softmax(logits, -1)
            q = torch.log_softmax(other.logits[h].float(), -1)
            kl = (torch.softmax(logits, -1) * (p - q)).sum(-1)  # softmax: see entropy
            total = total + (kl.sum(-1) if h == "selected_units" else kl)
        assert isinstance(total, torch.Tensor)  # HEADS is not empty
        return total.reshape(self.lead)

    # ------------------------------------------------------------------ drawing
    def _draw(self, deterministic: bool) -> dict[str, torch.Tensor]:
        out = {h: choose(self.logits[h], None, deterministic) for h in HEADS if h != "selected_units"}
        sel = self.logits["selected_units"]
        steps = [choose(sel[:, m], None, deterministic) for m in range(sel.shape[1])]
        picks = torch.stack(steps, dim=1)
        out["selected_units"] = torch.where(self.selection_steps(picks), picks, self.layout.eos)
        used = self.uses[out["action_type"]]
        for i, h in enumerate(ARGUMENTS):
            default = self.layout.defaults[h]
            mask = used[:, i, None] if h == "selected_units" else used[:, i]
            out[h] = torch.where(mask, out[h], default)
        return {h: a.reshape(*self.lead, *a.shape[1:]) for h, a in out.items()}

    def sample(self) -> dict[str, torch.Tensor]:
        """A draw from each stored head; unused arguments set to their defaults."""
        return self._draw(deterministic=False)

    def deterministic(self) -> dict[str, torch.Tensor]:
        """The argmax of each stored head; unused arguments set to their defaults."""
        return self._draw(deterministic=True)


def _gather(logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits.float(), -1).gather(-1, idx[..., None]).squeeze(-1)


# ---------------------------------------------------------------------- on per-head rows (no object)
def flat_logits(logits: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per-head logits ``{head: (R, n) | selected_units (R, M, N+1)}`` -> ``(R, L)`` in layout order."""
    return torch.cat([logits[h].flatten(1) for h in HEADS], dim=-1)


def selection_steps(selected: torch.Tensor, eos: int) -> torch.Tensor:
    """``(R, M)`` bool: the steps of ``selected (R, M)`` up to and including the first EOS."""
    is_eos = (selected == eos).long()
    return (torch.cumsum(is_eos, dim=1) - is_eos) == 0


def head_log_probs(
    logits: dict[str, torch.Tensor], actions: dict[str, torch.Tensor], uses: torch.Tensor, eos: int
) -> dict[str, torch.Tensor]:
    """``{head: (R,)}`` log-probability terms of ``actions`` (rows ``(R,)`` / ``(R, M)``) under per-head
    ``logits``; ``uses (K, 4)`` bool; the terms of arguments the action type does not use are exactly 0."""
    a = actions["action_type"].long()
    used = uses[a]  # (R, 4)
    terms = {"action_type": _gather(logits["action_type"], a)}
    for i, h in enumerate(ARGUMENTS):
        idx = actions[h].long()
        term = _gather(logits[h], idx)
        if h == "selected_units":
            term = torch.where(selection_steps(idx, eos), term, 0.0).sum(-1)
        terms[h] = torch.where(used[:, i], term, 0.0)
    return terms


def joint_log_prob(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """The sum of the per-head terms of :func:`head_log_probs` (in ``HEADS`` order)."""
    return torch.stack([terms[h] for h in HEADS]).sum(0)
