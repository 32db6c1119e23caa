"""``TokenObservation``: any vector / image / Dict observation -> ``entities (N, F)`` + ``entity_mask (N,)``: a
list of N tokens (the policy's entities) with no spatial map.

Token layout (``F = V + P + M``)::

    [ values (padded to V) | position features (padded to P) | modality one-hot (M) ]

``V`` / ``P`` are the largest value / position widths over the parts, ``M`` the number of parts (the
Dict's keys in sorted order, or 1 for a plain space). Tokens of the parts are concatenated in that
order. Every observation has the same N, so ``entity_mask`` is all ones; it is part of the contract
(:class:`envs.spec.TokenSpec`) so that token envs with variable N can share the models.

Episodes follow :mod:`envs.episode`, as the SC2 envs do: ``step()`` after ``terminated`` or ``truncated``
raises :class:`envs.episode.StepAfterEndError` (call ``reset()``); a NaN or inf observation raises
``ValueError`` naming the part. Actions are checked against the wrapped env's action space by
:func:`envs.spec.check_action` before the wrapped env sees them: an action outside it (``-1``, ``True``, ``1.5``,
``"1"`` for a ``Discrete``) raises ``ValueError`` naming ``action`` and leaves the episode as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.episode import EpisodeGuard
from envs.spec import TokenSpec, check_action
from envs.tokens.tokenizers import Tokenizer, make_tokenizer


@dataclass(frozen=True)
class TokenConfig:
    """How observations become tokens."""

    num_bands: int = 4
    """K: Fourier frequency bands per position dimension (vector index: 1 + 2K features, pixel: 2 + 4K)."""


class TokenObservation(gym.ObservationWrapper):
    """Observation wrapper producing :class:`envs.spec.TokenSpec` observations.

    Attributes: ``token_spec`` (:class:`TokenSpec`), ``modalities`` (part names in token order),
    ``modality_slices`` (name -> token slice).
    """

    def __init__(self, env: gym.Env, config: TokenConfig = TokenConfig()):
        super().__init__(env)
        space = env.observation_space
        parts: dict[str, spaces.Space] = (
            {k: space.spaces[k] for k in sorted(space.spaces)}
            if isinstance(space, spaces.Dict)
            else {"observation": space}
        )
        self._dict = isinstance(space, spaces.Dict)
        self._shapes = {k: s.shape for k, s in parts.items()}
        self._tokenizers: dict[str, Tokenizer] = {k: make_tokenizer(s, config.num_bands, k) for k, s in parts.items()}
        v = max(t.value_dim for t in self._tokenizers.values())
        p = max(t.positions.shape[1] for t in self._tokenizers.values())
        m = len(self._tokenizers)
        n = sum(t.num_tokens for t in self._tokenizers.values())
        self.token_spec = TokenSpec(num_tokens=n, token_features=v + p + m)
        self.modalities = tuple(self._tokenizers)
        self.modality_slices: dict[str, slice] = {}
        self._template = np.zeros((n, v + p + m), np.float32)
        start = 0
        for i, (name, tok) in enumerate(self._tokenizers.items()):
            sl = slice(start, start + tok.num_tokens)
            self._template[sl, v : v + tok.positions.shape[1]] = tok.positions
            self._template[sl, v + p + i] = 1.0
            self.modality_slices[name] = sl
            start = sl.stop
        self._mask = np.ones(n, np.int8)
        self.observation_space = self.token_spec.space()
        self._episode = EpisodeGuard()

    def reset(self, **kwargs):
        obs, info = super().reset(**kwargs)
        self._episode.started()
        return obs, info

    def step(self, action):
        """The wrapped env's step on ``action`` checked by :func:`envs.spec.check_action` (in its canonical form:
        a ``Discrete`` action arrives as a Python int)."""
        self._episode.check()
        action = check_action(self.action_space, action)
        obs, reward, terminated, truncated, info = super().step(action)
        self._episode.record(terminated, truncated)
        return obs, reward, terminated, truncated, info

    def observation(self, observation) -> dict[str, np.ndarray]:
        tokens = self._template.copy()
        for name, tok in self._tokenizers.items():
            values = tok.values(self._checked(name, observation[name] if self._dict else observation))
            if not np.isfinite(values).all():
                raise ValueError(f"observation field {name!r} contains NaN or inf")
            tokens[self.modality_slices[name], : tok.value_dim] = values
        return {"entities": tokens, "entity_mask": self._mask.copy()}

    def _checked(self, name: str, value) -> np.ndarray:
        """``value`` of part ``name`` as an array of its space's shape, numeric and finite; ``ValueError`` naming
        the part otherwise (before any scaling or cast could hide it)."""
        a = np.asarray(value)
        if a.dtype.kind not in "biuf":
            raise ValueError(f"observation field {name!r}: expected numbers, got dtype {a.dtype}")
        if a.shape != self._shapes[name]:
            raise ValueError(f"observation field {name!r}: expected shape {self._shapes[name]}, got {a.shape}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError(f"observation field {name!r} contains NaN or inf")
        return a
