"""Argument checks shared by every module: one-line ValueErrors naming the argument and both shapes."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _fmt(expected: Sequence[object]) -> str:
    return "(" + ", ".join(str(e) for e in expected) + ")"


def check_shape(name: str, x: torch.Tensor, expected: Sequence[int | str]) -> None:
    """Check ``x`` against ``expected``: ints must match exactly, strings are free symbols.

    Raises ``ValueError("<name>: expected shape (B, M, 64), got (2, 7, 32)")``.
    """
    actual = tuple(x.shape)
    ok = len(actual) == len(expected) and all(isinstance(e, str) or int(e) == a for e, a in zip(expected, actual))
    if not ok:
        raise ValueError(f"{name}: expected shape {_fmt(expected)}, got {actual}")


def check_mask(name: str, mask: torch.Tensor | None, x: torch.Tensor, x_name: str) -> None:
    """A key-padding mask must be boolean with shape ``(B, M)`` matching ``x`` of shape ``(B, M, C)``."""
    if mask is None:
        return
    expected = (x.shape[0], x.shape[1])
    if tuple(mask.shape) != expected:
        raise ValueError(
            f"{name}: expected shape {_fmt(expected)} to match {x_name} {tuple(x.shape)}, got {tuple(mask.shape)}"
        )
    if mask.dtype != torch.bool:
        raise ValueError(f"{name}: expected a boolean mask (True = attend), got dtype {mask.dtype}")
