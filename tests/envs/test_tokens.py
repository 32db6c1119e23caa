"""Gym token wrappers: layout of the tokens, Dict modalities, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from envs.tokens import TokenConfig, TokenObservation, make_token_env


class _ConstEnv(gym.Env):
    """Returns a fixed observation of a given space (for layout tests)."""

    def __init__(self, space: spaces.Space, obs):
        self.observation_space, self.action_space, self._obs = space, spaces.Discrete(2), obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._obs, {}

    def step(self, action):
        return self._obs, 0.0, False, False, {}


def test_cartpole_one_token_per_dimension():
    env = make_token_env("CartPole-v1")
    obs, _ = env.reset(seed=3)
    raw, _ = gym.make("CartPole-v1").reset(seed=3)
    spec = env.token_spec
    assert set(obs) == {"entities", "entity_mask"}  # an entity list, no spatial map: the policy family's torso reads it
    assert obs["entities"].shape == (4, spec.token_features) and obs["entities"].dtype == np.float32
    assert obs["entity_mask"].dtype == np.int8 and obs["entity_mask"].tolist() == [1, 1, 1, 1]
    # x and angle have finite bounds (scaled to [-1, 1] around their midpoint 0); velocities are raw.
    high = env.env.observation_space.high
    expected = [raw[0] / high[0], raw[1], raw[2] / high[2], raw[3]]
    np.testing.assert_allclose(obs["entities"][:, 0], expected, rtol=1e-5)
    # position features differ between dimensions; the (single) modality bit is set
    assert len({tuple(r) for r in obs["entities"][:, 1:-1].round(5)}) == 4
    assert (obs["entities"][:, -1] == 1).all()
    assert env.observation_space.contains(obs)


def test_image_one_token_per_pixel_with_2d_positions():
    space = spaces.Box(0, 4, (2, 3, 2), np.float32)
    img = np.arange(12, dtype=np.float32).reshape(2, 3, 2) % 5
    env = TokenObservation(_ConstEnv(space, img), TokenConfig(num_bands=2))
    obs, _ = env.reset()
    # F = 2 channels + (2 + 2*2*2) positions + 1 modality
    assert env.token_spec.num_tokens == 6 and env.token_spec.token_features == 2 + 10 + 1
    np.testing.assert_allclose(obs["entities"][:, :2], img.reshape(6, 2) / 2 - 1)
    # the raw (row, col) positions come first among the position features: linspace(-1, 1)
    np.testing.assert_allclose(obs["entities"][:, 2:4], [[-1, -1], [-1, 0], [-1, 1], [1, -1], [1, 0], [1, 1]])


def test_dict_concatenates_parts_with_modality_ids():
    env = make_token_env("MiniGrid-DoorKey-5x5-v0", "minigrid_dict")
    obs, _ = env.reset(seed=0)
    raw = env.env.env.env  # FilterObservation's inner env: reset it the same way
    raw_obs, _ = raw.reset(seed=0)
    assert env.modalities == ("direction", "image")
    assert env.token_spec.num_tokens == 1 + 49
    tokens, f = obs["entities"], env.token_spec.token_features
    assert tokens[0, :4].tolist() == np.eye(4)[raw_obs["direction"]].tolist()
    assert tokens[0, f - 2 :].tolist() == [1.0, 0.0] and (tokens[1:, f - 2 :] == [0.0, 1.0]).all()
    # image channels scaled by MiniGrid's real maxima (object 10, colour 5, state 2) to [-1, 1]
    expected = raw_obs["image"].reshape(49, 3) / np.array([10, 5, 2]) * 2 - 1
    np.testing.assert_allclose(tokens[1:, :3], expected, rtol=1e-6)


def test_minigrid_image_env_runs_an_episode():
    env = make_token_env("MiniGrid-DoorKey-5x5-v0", "minigrid_image")
    obs, _ = env.reset(seed=1)
    assert obs["entities"].shape == (49, env.token_spec.token_features)
    for _ in range(5):
        obs, *_ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs)


def test_nan_observation_names_the_field():
    space = spaces.Dict({"a": spaces.Box(-1, 1, (3,), np.float32), "b": spaces.Box(-1, 1, (2,), np.float32)})
    obs = {"a": np.zeros(3, np.float32), "b": np.array([0.0, np.nan], np.float32)}
    env = TokenObservation(_ConstEnv(space, obs))
    with pytest.raises(ValueError, match="'b'.*NaN"):
        env.reset()


def test_unsupported_space_is_a_clear_error():
    space = spaces.Dict({"image": spaces.Box(0, 1, (2, 2, 1)), "mission": spaces.Text(8)})
    with pytest.raises(ValueError, match="'mission'"):
        TokenObservation(_ConstEnv(space, None))


@pytest.mark.parametrize("index_dims", [(1,), (4,), (7, 7), (3, 9)])
@pytest.mark.parametrize("num_bands", [0, 1, 4, 16])
def test_fourier_positions_match_perceiver_position(index_dims, num_bands):
    from envs.tokens.tokenizers import fourier_positions
    from perceiver_rl.position import fourier_features, linear_positions

    pos = linear_positions(index_dims).reshape(-1, len(index_dims))
    expected = fourier_features(pos, num_bands, index_dims).numpy()
    got = fourier_positions(index_dims, num_bands)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)  # float64 numpy vs float32 torch: ~2e-6
