"""Multi-head attention: the one place where ``scaled_dot_product_attention`` is called."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import MAX_CHANNELS, MAX_HEADS, check_int, check_mask, check_number, check_shape

STANDARD, ABSORB_KEYS, ABSORB_QUERIES = "standard", "absorb_keys", "absorb_queries"


def _head_matmul(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``x (B, h, n, d) @ w (h, d, c) -> (B, h, n, c)`` as one ``bmm`` over the heads: the same kernel with and
    without autograd (``torch.matmul`` folds broadcast batches differently when an input requires grad)."""
    b, h, n, d = x.shape
    return torch.bmm(x.transpose(0, 1).reshape(h, b * n, d), w).view(h, b, n, w.shape[-1]).transpose(0, 1)


def zero_masked(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x (B, M, C)`` with the slots where ``mask (B, M)`` is False set to 0, whatever they held (inf, NaN).

    ``torch.where``, not a product (``NaN * 0`` is NaN); its gradient is 0 at the masked slots. Apply it to an
    input *before* the computation that reads it: a NaN made from a masked slot and removed afterwards leaves
    NaN gradients behind (``0 * inf`` in the backward pass).
    """
    return torch.where(mask[..., None], x, x.new_zeros(()))


class AttentionRecord(NamedTuple):
    """One call of a :class:`MultiHeadAttention` under :func:`record_attention`."""

    module: MultiHeadAttention
    """The module that attended."""
    weights: torch.Tensor
    """``(B, heads, O, M)`` float32, detached: the softmax weights of the ``O`` queries over the ``M`` keys, before
    dropout. Masked keys hold exactly 0; a query row whose keys are all masked is all 0 (its output is 0)."""


class AttentionRecorder:
    """What :func:`record_attention` yields: the :class:`AttentionRecord` of every attention call, in call order."""

    def __init__(self) -> None:
        self.records: list[AttentionRecord] = []

    def of(self, module: nn.Module) -> list[torch.Tensor]:
        """The weights ``(B, heads, O, M)`` of each call of ``module``, in call order (``[]`` if it was not called)."""
        return [r.weights for r in self.records if r.module is module]

    def last(self, module: nn.Module) -> torch.Tensor | None:
        """The weights ``(B, heads, O, M)`` of the last call of ``module``, or None."""
        calls = self.of(module)
        return calls[-1] if calls else None


_ACTIVE = threading.local()
"""``recorders``: the recorders of the :func:`record_attention` contexts open in this thread (absent when none)."""


@contextmanager
def record_attention() -> Iterator[AttentionRecorder]:
    """Record the attention weights of every :class:`MultiHeadAttention` called in this thread inside the block::

        with record_attention() as rec:
            out = model(x)
        weights = rec.last(model.encoder.cross_attention.attention)  # (B, heads, O, M)

    ``scaled_dot_product_attention`` does not return its weights: while a recorder is open, each call also computes
    ``softmax(q k^T * scale)`` from the very ``q`` and ``k`` it passes to it (same scale, same masks), under
    ``no_grad``, and appends it. The outputs are the same tensors, bitwise; outside the block nothing is computed
    (one thread-local attribute read per call). Contexts nest (every open recorder receives every call). A
    ``torch.jit.trace`` being recorded (a policy's ``act``) records nothing: a replayed trace runs no Python.
    """
    recorder = AttentionRecorder()
    stack: list[AttentionRecorder] | None = getattr(_ACTIVE, "recorders", None)
    if stack is None:
        stack = _ACTIVE.recorders = []
    stack.append(recorder)
    try:
        yield recorder
    finally:
        stack.remove(recorder)
        if not stack:
            del _ACTIVE.recorders


def _attention_weights(
    q: torch.Tensor, k: torch.Tensor, attn_mask: torch.Tensor | None, empty_rows: torch.Tensor | None, scale: float
) -> torch.Tensor:
    """``q (B, h, O, d)``, ``k (B, h, M, d)``, SDPA's boolean ``attn_mask (B, 1, 1, M)`` -> ``(B, h, O, M)`` float32
    softmax weights (masked keys exactly 0; the rows of ``empty_rows (B,)`` all 0, as their outputs are)."""
    with torch.no_grad():
        logits = torch.matmul(q.float(), k.float().transpose(-2, -1)) * scale
        if attn_mask is not None:
            logits = logits.masked_fill(~attn_mask, float("-inf"))
        weights = torch.softmax(logits, dim=-1)
        if empty_rows is not None:
            weights = weights.masked_fill(empty_rows[:, None, None, None], 0.0)
        return weights


def _ones_channel(x: torch.Tensor) -> torch.Tensor:
    """``(B, n, C) -> (B, n, C + 1)``: a constant 1 appended (a bias folded into a dot product)."""
    return torch.cat([x, x.new_ones(*x.shape[:-1], 1)], dim=-1)


class MultiHeadAttention(nn.Module):
    """LayerNorm'd multi-head attention of queries ``x_q`` over keys/values ``x_kv``.

    ``x_q (B, O, q_channels)``, ``x_kv (B, M, kv_channels)``, optional boolean key-padding ``mask (B, M)``
    (True = attend) -> ``(B, O, out_channels)``.

    Channels follow DeepMind's Perceiver: ``qk_channels`` defaults to ``q_channels``, ``v_channels`` to
    ``qk_channels``, ``out_channels`` to ``q_channels``. Logits are scaled by ``1/sqrt(qk_channels/heads)``.
    A query row whose keys are all masked returns zeros (never NaN). Masked key/value slots are zeroed before
    anything reads them (:func:`zero_masked`): what they hold (1e30, inf, NaN) changes neither the output nor
    the gradients; with a mask, self-attention's masked query rows are computed from zeros too (their output
    is that of a zero token). For finite masked values this is the same function: their weights are exactly 0.

    ``self_attention=True`` shares one LayerNorm between the query and key/value side (``x_kv`` is
    then ignored and ``x_q`` attends to itself), as in DeepMind's self-attention module.

    Cross-attention between a short and a long side (Perceiver latents vs inputs or output queries)
    computes the same function in the cheaper of three orders (:meth:`form`): the projections of the long
    side are folded into the short side (``<W_q x, W_k y> = <x, W_q^T W_k y>``; ``P (y W_v^T) W_o^T =
    P (y W_v^T W_o^T)``), so that nothing of size ``(long, qk_channels)`` is projected. Equal up to float
    rounding; the order depends only on the shapes, so a policy's rollout and learner passes agree.

    Under :func:`record_attention` each call also records its softmax weights ``(B, heads, O, M)`` (in every
    order the logits are the same numbers: the weights are those of the standard form).
    """

    def __init__(
        self,
        *,
        q_channels: int,
        kv_channels: int,
        num_heads: int = 1,
        qk_channels: int | None = None,
        v_channels: int | None = None,
        out_channels: int | None = None,
        dropout: float = 0.0,
        self_attention: bool = False,
        layer_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        for label, width in (("q_channels", q_channels), ("kv_channels", kv_channels)):
            check_int(label, width, 1, MAX_CHANNELS)
        for label, opt in (("qk_channels", qk_channels), ("v_channels", v_channels), ("out_channels", out_channels)):
            check_int(label, opt, 1, MAX_CHANNELS, optional=True)
        check_int("num_heads", num_heads, 1, MAX_HEADS)
        check_number("dropout", dropout, low=0.0, high=1.0, high_open=True)
        qk_channels = qk_channels or q_channels
        v_channels = v_channels or qk_channels
        out_channels = out_channels or q_channels
        for label, c in (("qk_channels", qk_channels), ("v_channels", v_channels)):
            if c % num_heads:
                raise ValueError(f"{label}={c} is not divisible by num_heads={num_heads}")
        if self_attention and kv_channels != q_channels:
            raise ValueError(f"self-attention needs kv_channels == q_channels, got {kv_channels} != {q_channels}")
        self.q_channels, self.kv_channels = q_channels, kv_channels
        self.qk_channels, self.v_channels, self.out_channels = qk_channels, v_channels, out_channels
        self.num_heads, self.dropout, self.self_attention = num_heads, dropout, self_attention
        self.q_norm = nn.LayerNorm(q_channels, eps=layer_norm_eps)
        self.kv_norm = None if self_attention else nn.LayerNorm(kv_channels, eps=layer_norm_eps)
        self.q_proj = nn.Linear(q_channels, qk_channels)
        self.k_proj = nn.Linear(kv_channels, qk_channels)
        self.v_proj = nn.Linear(kv_channels, v_channels)
        self.o_proj = nn.Linear(v_channels, out_channels)

    def form(self, num_queries: int, num_keys: int) -> str:
        """The cheapest order (multiply-adds per sample) for ``num_queries`` x ``num_keys``:

        - ``standard``: project queries, keys, values; attend at ``qk/heads`` channels; project the output;
        - ``absorb_keys`` (few queries, many keys): queries mapped into the keys' input space
          (``W_k^T W_q x``), attention over the normalised inputs themselves, ``W_v`` after the weighting;
        - ``absorb_queries`` (many queries, few keys): keys mapped into the queries' input space
          (``W_q^T W_k y``), values straight to the output space (``W_o W_v y``), heads summed.
        """
        if self.self_attention:
            return STANDARD
        o, m, h = num_queries, num_keys, self.num_heads
        cq, ckv, cqk, cv, cout = self.q_channels, self.kv_channels, self.qk_channels, self.v_channels, self.out_channels
        costs = {
            STANDARD: o * cq * cqk + m * ckv * (cqk + cv) + o * m * (cqk + cv) + o * cv * cout,
            ABSORB_KEYS: o * cq * cqk + o * cqk * ckv + 2 * h * o * m * ckv + o * ckv * cv + o * cv * cout,
            ABSORB_QUERIES: m * ckv * (cqk + cv) + m * (cqk * cq + cv * cout) + h * o * m * (cq + cout),
        }
        return min(costs, key=lambda k: (costs[k], k != STANDARD))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, n, h*d)`` -> ``(B, h, n, d)``."""
        b, n, c = x.shape
        return x.view(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def _per_head(self, weight: torch.Tensor) -> torch.Tensor:
        """A Linear weight ``(h*d, C)`` -> ``(h, d, C)``."""
        return weight.view(self.num_heads, -1, weight.shape[-1])

    def forward(
        self, x_q: torch.Tensor, x_kv: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        check_shape("x_q", x_q, ("B", "O", self.q_channels))
        if self.self_attention:
            x_kv = x_q
        elif x_kv is None:
            raise ValueError("x_kv: required for cross-attention, got None")
        else:
            check_shape("x_kv", x_kv, (x_q.shape[0], "M", self.kv_channels))
        check_mask("mask", mask, x_kv, "x_kv")
        if mask is not None:
            # A masked slot may hold anything (1e30, inf, NaN): its weight is exactly 0, but 0 * inf is NaN, and
            # its LayerNorm / projections are computed with the rest. Zeroed before anything reads it, it cannot
            # reach the output nor the gradients (``where`` passes a zero gradient to the masked slots).
            x_kv = zero_masked(x_kv, mask)
            if self.self_attention:
                x_q = x_kv
        q_in = self.q_norm(x_q)
        if self.self_attention:
            kv_in = q_in
        else:
            assert self.kv_norm is not None  # built for cross-attention (self_attention=False)
            kv_in = self.kv_norm(x_kv)

        attn_mask = empty_rows = None
        if mask is not None:
            empty_rows = ~mask.any(dim=1)  # (B,)
            # Give fully masked rows one dummy key so softmax stays finite; their output is zeroed below.
            safe = mask | empty_rows[:, None]
            attn_mask = safe[:, None, None, :]  # (B, 1, 1, M) broadcast over heads and queries
        h, scale = self.num_heads, (self.qk_channels // self.num_heads) ** -0.5
        form = self.form(x_q.shape[1], kv_in.shape[1])
        if form == ABSORB_KEYS:
            # <W_q x + b_q, W_k y + b_k> = <W_k^T q, y> + <q, b_k>: y gets a constant 1 channel for the bias
            # (a constant per query row that cancels in the softmax; it keeps b_k's gradient, which is 0).
            # Values: P (W_v y + b_v) = [W_v, b_v] (P [y, 1]), the same [y, 1] as the keys.
            w_k = torch.cat([self._per_head(self.k_proj.weight), self._per_head(self.k_proj.bias[:, None])], -1)
            q = _head_matmul(self._heads(self.q_proj(q_in)), w_k)  # (B, h, O, Ckv + 1)
            k = v = _ones_channel(kv_in)[:, None].expand(-1, h, -1, -1)  # (B, h, M, Ckv + 1)
        elif form == ABSORB_QUERIES:
            # <W_q x + b_q, k> = <x, W_q^T k> + <b_q, k>: x gets a constant 1 channel for the bias.
            w_q = torch.cat([self._per_head(self.q_proj.weight), self._per_head(self.q_proj.bias[:, None])], -1)
            k = _head_matmul(self._heads(self.k_proj(kv_in)), w_q)  # (B, h, M, Cq + 1)
            w_o = self.o_proj.weight.view(self.out_channels, h, -1).permute(1, 2, 0)  # (h, dv, Cout)
            v = _head_matmul(self._heads(self.v_proj(kv_in)), w_o)  # (B, h, M, Cout)
            q = _ones_channel(q_in)[:, None].expand(-1, h, -1, -1)  # (B, h, O, Cq + 1)
        else:
            q, k, v = self._heads(self.q_proj(q_in)), self._heads(self.k_proj(kv_in)), self._heads(self.v_proj(kv_in))
        if q.shape[-1] != v.shape[-1]:  # CPU's fused kernel wants one width for q, k and v (else the math path)
            width = max(q.shape[-1], v.shape[-1])
            q, k, v = (F.pad(t, (0, width - t.shape[-1])) for t in (q, k, v))  # zeros: same logits and values
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0, scale=scale
        )
        recorders = getattr(_ACTIVE, "recorders", None)
        if recorders and not torch.jit.is_tracing():  # on the side, from the q and k above: ``out`` is untouched
            record = AttentionRecord(self, _attention_weights(q, k, attn_mask, empty_rows, scale))
            for recorder in recorders:
                recorder.records.append(record)
        if form == ABSORB_QUERIES:  # o_proj(concat of heads) = the sum of the heads' W_o slices
            out = out[..., : self.out_channels].sum(1) + self.o_proj.bias
        else:
            if form == ABSORB_KEYS:  # (B, h, O, Ckv + 1) -> (B, h, O, dv)
                w_v = torch.cat([self._per_head(self.v_proj.weight), self._per_head(self.v_proj.bias[:, None])], -1)
                out = _head_matmul(out[..., : self.kv_channels + 1], w_v.transpose(1, 2))
            out = out[..., : self.v_channels // h]
            b, _, o, d = out.shape
            out = self.o_proj(out.transpose(1, 2).reshape(b, o, h * d))
        if empty_rows is not None:
            out = out.masked_fill(empty_rows[:, None, None], 0.0)
        return out
