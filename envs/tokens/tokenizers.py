"""Per-space tokenizers: one gymnasium space -> a fixed number of tokens.

Each tokenizer turns one observation of its space into ``values (N, V)`` (the per-token values)
and owns ``positions (N, P)`` (fixed per-token position features). The wrapper lays every part
out as ``[values | positions | modality one-hot]`` (see :mod:`envs.tokens.wrapper`).

- vector (1-D ``Box`` / ``MultiBinary`` / ``MultiDiscrete``): one token per dimension; value is the
  element (scaled to [-1, 1] where the space's bounds are finite); position = 1-D Fourier
  features of the dimension index.
- image (2-D ``(H, W)`` or 3-D ``(H, W, C)`` ``Box``): one token per pixel; values = the C channels
  (scaled by finite bounds); position = 2-D Fourier features of ``(row, col)``.
- discrete (``Discrete``): one token whose values are the one-hot of the integer; no position.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from gymnasium import spaces


def fourier_positions(index_dims: tuple[int, ...], num_bands: int) -> np.ndarray:
    """``(prod(index_dims), d + 2 d K)`` float32 DeepMind Fourier features of a ``d``-D grid, in numpy.

    Positions ``linspace(-1, 1, n)`` per dimension (``ij`` order), frequencies ``linspace(1, n / 2, K)``,
    channels ``[pos, sin(pi f p) dim-major, cos(pi f p)]``: the values of ``perceiver_rl.position``'s
    ``linear_positions`` + ``fourier_features`` (tests pin the two together) without importing torch.
    """
    grids = np.meshgrid(*(np.linspace(-1.0, 1.0, n) for n in index_dims), indexing="ij")
    pos = np.stack(grids, axis=-1).reshape(-1, len(index_dims))  # (N, d)
    freqs = np.stack([np.linspace(1.0, n / 2, num_bands) for n in index_dims])  # (d, K)
    per_pos = (pos[:, :, None] * freqs[None]).reshape(len(pos), -1)  # (N, d*K)
    return np.concatenate([pos, np.sin(np.pi * per_pos), np.cos(np.pi * per_pos)], axis=-1).astype(np.float32)


def _bounds_scaler(low: np.ndarray, high: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Elementwise map to [-1, 1] where ``low``/``high`` are finite and distinct, identity elsewhere."""
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    finite = np.isfinite(low) & np.isfinite(high) & (high > low)
    span = np.where(finite, high - low, 1.0)
    scale = np.where(finite, 2.0 / span, 1.0).astype(np.float32)
    shift = np.where(finite, -1.0 - 2.0 * np.where(finite, low, 0.0) / span, 0.0).astype(np.float32)
    return lambda x: np.asarray(x, dtype=np.float32) * scale + shift


class Tokenizer:
    """Base: ``num_tokens``, ``value_dim``, ``positions (N, P)`` and ``values(obs) -> (N, V)``."""

    num_tokens: int
    value_dim: int
    positions: np.ndarray

    def values(self, obs) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class VectorTokenizer(Tokenizer):
    """``(D,)`` -> D tokens, value = the element, position = 1-D Fourier features of the index."""

    def __init__(self, space: spaces.Space, num_bands: int):
        (n,) = space.shape
        if isinstance(space, spaces.Box):
            low, high = space.low, space.high
        elif isinstance(space, spaces.MultiDiscrete):
            low, high = np.zeros(n), space.nvec - 1
        else:  # MultiBinary
            low, high = np.zeros(n), np.ones(n)
        self._scale = _bounds_scaler(low, high)
        self.num_tokens, self.value_dim = n, 1
        self.positions = fourier_positions((n,), num_bands)

    def values(self, obs) -> np.ndarray:
        return self._scale(np.asarray(obs).reshape(-1))[:, None]


class ImageTokenizer(Tokenizer):
    """``(H, W[, C])`` -> H*W tokens, values = the C channels, position = 2-D Fourier features."""

    def __init__(self, space: spaces.Box, num_bands: int):
        h, w = space.shape[:2]
        c = space.shape[2] if len(space.shape) == 3 else 1
        self._scale = _bounds_scaler(space.low.reshape(h * w, c), space.high.reshape(h * w, c))
        self.num_tokens, self.value_dim = h * w, c
        self.positions = fourier_positions((h, w), num_bands)

    def values(self, obs) -> np.ndarray:
        return self._scale(np.asarray(obs).reshape(self.num_tokens, self.value_dim))


class DiscreteTokenizer(Tokenizer):
    """``Discrete(n)`` -> 1 token whose values are the one-hot of ``obs - start``."""

    def __init__(self, space: spaces.Discrete, num_bands: int):
        del num_bands  # a single token has no position
        self._start, self.value_dim, self.num_tokens = int(space.start), int(space.n), 1
        self.positions = np.zeros((1, 0), np.float32)

    def values(self, obs) -> np.ndarray:
        out = np.zeros((1, self.value_dim), np.float32)
        out[0, int(obs) - self._start] = 1.0
        return out


TOKENIZERS: dict[str, type[Tokenizer]] = {
    "vector": VectorTokenizer,
    "image": ImageTokenizer,
    "discrete": DiscreteTokenizer,
}


def tokenizer_kind(space: spaces.Space) -> str | None:
    """The :data:`TOKENIZERS` key for ``space``, or ``None`` when no tokenizer handles it."""
    if isinstance(space, spaces.Discrete):
        return "discrete"
    if isinstance(space, (spaces.MultiBinary, spaces.MultiDiscrete)) and len(space.shape) == 1:
        return "vector"
    if isinstance(space, spaces.Box):
        return {1: "vector", 2: "image", 3: "image"}.get(len(space.shape))
    return None


def make_tokenizer(space: spaces.Space, num_bands: int, name: str = "observation") -> Tokenizer:
    """Build the tokenizer for ``space``; ``ValueError`` naming ``name`` when the space is unsupported."""
    kind = tokenizer_kind(space)
    if kind is None:
        raise ValueError(
            f"observation field {name!r}: no tokenizer for {space} (supported: 1-D Box/MultiBinary/"
            "MultiDiscrete vectors, (H, W[, C]) Box images, Discrete); filter it out first"
        )
    return TOKENIZERS[kind](space, num_bands)
