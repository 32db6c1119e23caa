"""Entry points of the token-wrapped Gym envs: base env id + a named preprocessing + :class:`TokenObservation`."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.tokens.wrapper import TokenConfig, TokenObservation


class MiniGridImageBounds(gym.ObservationWrapper):
    """Tighten MiniGrid's ``image`` bounds from ``[0, 255]`` to the real per-channel maxima.

    MiniGrid encodes each cell as (object index, colour index, state); the declared ``Box(0, 255)``
    would squash them into ``[-1, -0.92]`` after bound scaling. Works on the Dict observation or on
    the bare image (after ``ImgObsWrapper``).
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX, STATE_TO_IDX

        maxima = np.array([max(OBJECT_TO_IDX.values()), max(COLOR_TO_IDX.values()), max(STATE_TO_IDX.values())])
        space = env.observation_space
        image = space["image"] if isinstance(space, spaces.Dict) else space
        tight = spaces.Box(0, np.broadcast_to(maxima, image.shape).astype(image.dtype), image.shape, image.dtype)
        self.observation_space = (
            spaces.Dict({**space.spaces, "image": tight}) if isinstance(space, spaces.Dict) else tight
        )

    def observation(self, observation):
        return observation


def _minigrid_image(env: gym.Env) -> gym.Env:
    from minigrid.wrappers import ImgObsWrapper

    return MiniGridImageBounds(ImgObsWrapper(env))


def _minigrid_dict(env: gym.Env) -> gym.Env:
    """Keep MiniGrid's ``image`` and ``direction`` (drop the text ``mission``): a Dict of image + Discrete."""
    from gymnasium.wrappers import FilterObservation

    return MiniGridImageBounds(FilterObservation(env, ["image", "direction"]))


PREPROCESSING: dict[str, Callable[[gym.Env], gym.Env]] = {
    "none": lambda env: env,
    "minigrid_image": _minigrid_image,
    "minigrid_dict": _minigrid_dict,
}


def _import_base(base_id: str) -> None:
    """Import the package that registers ``base_id`` with gymnasium (MiniGrid registers on import)."""
    if base_id.startswith("MiniGrid-"):
        import minigrid  # noqa: F401


def make_token_env(base_id: str, preprocessing: str = "none", num_bands: int = 4, **base_kwargs) -> TokenObservation:
    """``gymnasium.make(base_id, **base_kwargs)`` -> ``PREPROCESSING[preprocessing]`` -> :class:`TokenObservation`."""
    if preprocessing not in PREPROCESSING:
        raise ValueError(f"preprocessing {preprocessing!r} unknown; valid: {sorted(PREPROCESSING)}")
    _import_base(base_id)
    env = PREPROCESSING[preprocessing](gym.make(base_id, **base_kwargs))
    return TokenObservation(env, TokenConfig(num_bands=num_bands))
