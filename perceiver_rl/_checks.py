"""Argument checks shared by every module: one-line ValueErrors naming the argument and both shapes, or the
config field, its valid range and the value (``num_latents: expected in [1, 65,536], got 0``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

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


# Config bounds: far above any model in the papers (the largest: 2048 latents, 1280 channels, 26 layers, 16 heads),
# low enough that a typo (``num_latents=10**9``) is one ValueError before any tensor is allocated.
MAX_LENGTH = 1 << 16
"""Latents, queries: 65,536."""
MAX_CHANNELS = 1 << 16
"""Widths of tokens, latents, queries, keys and values: 65,536."""
MAX_OUTPUTS = 1 << 20
"""Output widths (classes, a vocabulary): 1,048,576."""
MAX_HEADS = 1 << 10
"""Attention heads: 1,024."""
MAX_LAYERS = 1 << 10
"""Layers, blocks: 1,024."""
MAX_WIDENING = 256
"""MLP widening factors."""
MAX_BANDS = 1 << 10
"""Fourier frequency bands: 1,024."""
MAX_SIDE = 1 << 16
"""Image sides, resolutions: 65,536 pixels."""


@dataclass(frozen=True)
class Bounds:
    """Valid values of an int config field: ``low <= value <= high`` (``None`` too where ``optional``); a tuple
    field (an image size) has ``length`` such ints."""

    low: int
    high: int
    optional: bool = False
    length: int | None = None


def bounded(low: int, high: int, default: Any = MISSING, *, optional: bool = False, length: int | None = None) -> Any:
    """A dataclass field whose value :func:`check_config` checks against ``Bounds(low, high, optional, length)``."""
    return field(default=default, metadata={"bounds": Bounds(low, high, optional, length)})


def _is_int(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_int(name: str, value: object, low: int, high: int, *, optional: bool = False) -> None:
    """Raise ``ValueError("<name>: expected in [1, 65,536], got 0")`` unless ``value`` is an int in ``[low, high]``
    (bounds with thousands separators, as ``agents.nets.config_values.Range``)."""
    if optional and value is None:
        return
    none = "None or " if optional else ""
    if not _is_int(value):
        raise ValueError(f"{name}: expected {none}an int in [{low:,}, {high:,}], got {value!r}")
    if not low <= int(value) <= high:  # type: ignore[call-overload]  # an Integral (checked above)
        raise ValueError(f"{name}: expected {none}in [{low:,}, {high:,}], got {value!r}")


def check_number(name: str, value: object, *, low: float, high: float, high_open: bool = False) -> None:
    """A finite number in ``[low, high]`` (``[low, high)`` with ``high_open``), else a one-line ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    x = float(value)
    if x < low or x > high or (high_open and x == high):
        raise ValueError(f"{name}: expected in [{low:g}, {high:g}{')' if high_open else ']'}, got {value!r}")


def check_positive(name: str, value: object) -> None:
    """A finite number > 0 (a scale), else a one-line ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")


SHAPES_FOR_ATTN = ("kv", "q")
"""What sets a cross-attention's qk width by default: the attended inputs' ('kv') or the queries' ('q')."""


def check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    """``value`` one of ``choices``, else ``ValueError("<name>: expected 'a' or 'b', got 'x'")``."""
    if value not in choices:
        raise ValueError(f"{name}: expected {' or '.join(repr(c) for c in choices)}, got {value!r}")


def check_config(config: object) -> None:
    """Check every :func:`bounded` field of the dataclass ``config``; ``ValueError`` naming the first bad one."""
    for f in fields(config):  # type: ignore[arg-type]  # a dataclass instance
        b: Bounds | None = f.metadata.get("bounds")
        if b is None:
            continue
        value = getattr(config, f.name)
        if b.length is None or (b.optional and value is None):
            check_int(f.name, value, b.low, b.high, optional=b.optional)
            continue
        items = tuple(value) if isinstance(value, (tuple, list)) else None
        if items is None or len(items) != b.length or not all(_is_int(v) and b.low <= v <= b.high for v in items):
            none = "None or " if b.optional else ""
            raise ValueError(f"{f.name}: expected {none}{b.length} ints in [{b.low:,}, {b.high:,}], got {value!r}")
