"""Hostile input to the environments: every pysc2 observation field the converter reads with NaN, +-inf, a
fraction, a wrong dtype or shape, or missing; every action argument out of range; a NaN reward; step()
after the episode ended (SC2 and token envs alike). Each is a ``ValueError`` / ``RuntimeError`` naming the
culprit, never a number that reaches the policy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401 - registers the ids
from envs.episode import StepAfterEndError
from envs.pysc2_compat import RAW_FUNCTIONS, FeatureUnit, MinimapFeatures, StepType, TimeStep
from envs.sc2.env import SC2MinigameEnv
from envs.tokens.wrapper import TokenObservation

FIELDS = ("raw_units", "feature_minimap", "player", "game_loop", "score_cumulative")
"""Every pysc2 observation field ``TimestepConverter.observation`` reads."""


@pytest.fixture(scope="module")
def sim_timestep():
    """A simulator env one no-op past reset and the pysc2 timestep it produced."""
    env = SC2MinigameEnv("CollectMineralShards", backend="sim")
    env.reset(seed=1)
    return env, env._env.step([RAW_FUNCTIONS.no_op()])[0]


def _first_index(field: str) -> tuple[int, ...]:
    """An element the converter reads: a unit's x, the pathable plane, minerals, the loop, the score."""
    return {
        "raw_units": (0, int(FeatureUnit.x)),
        "feature_minimap": (MinimapFeatures.pathable.index, 0, 0),
        "player": (1,),
        "game_loop": (0,),
        "score_cumulative": (0,),
    }[field]


def _with_value(value: float):
    def corrupt(a: np.ndarray, field: str) -> np.ndarray:
        out = a.astype(np.float64)
        out[_first_index(field)] = value
        return out

    return corrupt


def _wrong_shape(a: np.ndarray, field: str) -> np.ndarray:
    return a[..., :-1] if a.ndim > 1 else np.concatenate([a, a])


CORRUPTIONS = {
    "nan": (_with_value(np.nan), "NaN or inf"),
    "+inf": (_with_value(np.inf), "NaN or inf"),
    "-inf": (_with_value(-np.inf), "NaN or inf"),
    "fraction": (_with_value(0.5), "fractional"),
    "strings": (lambda a, field: a.astype(str), "dtype"),
    "objects": (lambda a, field: a.astype(object), "dtype"),
    "shape": (_wrong_shape, "shape"),
    "flat": (lambda a, field: a.reshape(-1)[: max(1, a.size - 1)] if a.ndim > 1 else a[None], "shape"),
}


def _timestep(ts, **fields) -> TimeStep:
    return TimeStep(StepType.MID, 0.0, 1.0, {**ts.observation, **fields})


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
@pytest.mark.parametrize("field", FIELDS)
def test_every_observation_field_is_checked_before_any_cast(sim_timestep, field, kind):
    env, ts = sim_timestep
    corrupt, reason = CORRUPTIONS[kind]
    bad = corrupt(np.asarray(ts.observation[field]), field)
    with pytest.raises(ValueError, match=f"observation field '{field}'.*{reason}"):
        env.converter.observation(_timestep(ts, **{field: bad}))


@pytest.mark.parametrize("field", FIELDS)
def test_a_missing_observation_field_is_named(sim_timestep, field):
    env, ts = sim_timestep
    obs = {k: v for k, v in ts.observation.items() if k != field}
    with pytest.raises(ValueError, match=f"observation field '{field}' is missing"):
        env.converter.observation(TimeStep(StepType.MID, 0.0, 1.0, obs))


def test_nan_in_a_raw_unit_never_reaches_the_observation(sim_timestep):
    """The reported bug: a NaN position cast to int64 first became about -5.8e17."""
    env, ts = sim_timestep
    raw = np.asarray(ts.observation["raw_units"]).astype(np.float64)
    raw[:, int(FeatureUnit.x)] = np.nan
    with pytest.raises(ValueError, match="'raw_units'"):
        env.converter.observation(_timestep(ts, raw_units=raw))


def test_integral_floats_are_accepted_like_ints(sim_timestep):
    env, ts = sim_timestep
    as_floats = {f: np.asarray(ts.observation[f]).astype(np.float64) for f in FIELDS}
    expected, _ = env.converter.observation(ts)
    got, _ = env.converter.observation(_timestep(ts, **as_floats))
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


def _action(env, **overrides):
    spec = env.act_spec
    action = {"action_type": 0, "queued": 0, "selected_units": np.full(spec.max_selected, spec.max_entities),
              "target_unit": 0, "location": 0}  # fmt: skip
    return {**action, **overrides}


N, M, S = 32, 4, 64
BAD_ARGUMENTS = [
    *[("action_type", v) for v in (-1, 4, 2.0, np.nan, [0, 1])],
    *[("queued", v) for v in (-1, 2, 0.5)],
    *[("target_unit", v) for v in (-1, N, 1.0)],
    *[("location", v) for v in (-1, S * S, 3.5, np.inf)],
    *[("selected_units", v) for v in ([-1] * M, [N + 1] * M, [0] * (M + 1), [0.0] * M, [np.nan] * M, [])],
]


@pytest.mark.parametrize("field,value", BAD_ARGUMENTS, ids=[f"{f}={v!r}" for f, v in BAD_ARGUMENTS])
def test_every_action_argument_out_of_range_is_named(sim_timestep, field, value):
    env, ts = sim_timestep
    env.converter.observation(ts)
    with pytest.raises(ValueError, match=f"'{field}'"):
        env.converter.action(_action(env, **{field: np.asarray(value)}))


@pytest.mark.parametrize("field", ["action_type", "queued", "target_unit", "location", "selected_units"])
def test_a_missing_action_argument_is_named(sim_timestep, field):
    env, ts = sim_timestep
    env.converter.observation(ts)
    action = {k: v for k, v in _action(env).items() if k != field}
    with pytest.raises(ValueError, match=field):
        env.converter.action(action)


def test_nan_reward_is_refused():
    env = SC2MinigameEnv("MoveToBeacon", backend="sim")
    env.reset(seed=0)
    real_step = env._env.step

    def nan_reward(actions):
        ts = real_step(actions)[0]
        return [TimeStep(ts.step_type, np.nan, ts.discount, ts.observation)]

    env._env.step = nan_reward
    with pytest.raises(ValueError, match="reward"):
        env.step(_action(env))


# ------------------------------------------------------------------------------- step after the episode


def test_sc2_step_after_termination_raises_and_reset_starts_fresh():
    env = SC2MinigameEnv("DefeatRoaches", backend="test")  # SC2TestEnv: 10 steps per episode
    env.reset(seed=0)
    terminated = False
    while not terminated:
        *_, terminated, _, info = env.step(_action(env))
    assert info["episode_length"] == 10
    with pytest.raises(StepAfterEndError, match=r"call reset\(\)"):
        env.step(_action(env))
    with pytest.raises(RuntimeError):  # a RuntimeError, as documented
        env.step(_action(env))
    env.reset()
    *_, info = env.step(_action(env))
    assert info["episode_length"] == 1 and info["illegal_actions"] == 0


def test_sc2_step_before_reset_raises():
    env = SC2MinigameEnv("DefeatRoaches", backend="test")
    with pytest.raises(ValueError, match=r"reset\(\)"):
        env.step(_action(env))


def _finish(env: gym.Env, seed: int = 0) -> tuple[bool, bool]:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    while True:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            return terminated, truncated


def test_token_env_step_after_termination_raises():
    env = gym.make("perceiver_rl/Tokens-CartPole-v1")
    assert _finish(env) == (True, False)
    with pytest.raises(StepAfterEndError):
        env.step(env.action_space.sample())
    env.reset()
    env.step(env.action_space.sample())  # a new episode steps again


def test_token_env_step_after_truncation_raises():
    env = TokenObservation(gym.make("CartPole-v1", max_episode_steps=3))
    assert _finish(env) == (False, True)
    with pytest.raises(StepAfterEndError):
        env.step(env.action_space.sample())


class _ConstEnv(gym.Env):
    """Returns a fixed observation (which may disagree with its space)."""

    def __init__(self, space, obs):
        self.observation_space, self.action_space, self.obs = space, gym.spaces.Discrete(2), obs

    def reset(self, *, seed=None, options=None):
        return self.obs, {}

    def step(self, action):
        return self.obs, 0.0, False, False, {}


TOKEN_CORRUPTIONS = {
    "nan": (np.array([0.0, np.nan, 0.0], np.float32), "NaN or inf"),
    "+inf": (np.array([0.0, np.inf, 0.0], np.float32), "NaN or inf"),
    "-inf": (np.array([-np.inf, 0.0, 0.0], np.float32), "NaN or inf"),
    "strings": (np.array(["a", "b", "c"]), "dtype"),
    "shape": (np.zeros(4, np.float32), "shape"),
    "2d": (np.zeros((3, 1), np.float32), "shape"),
}


@pytest.mark.parametrize("kind", sorted(TOKEN_CORRUPTIONS))
def test_token_observation_fields_are_checked(kind):
    value, reason = TOKEN_CORRUPTIONS[kind]
    space = gym.spaces.Dict({"a": gym.spaces.Box(-1, 1, (3,), np.float32), "b": gym.spaces.Discrete(3)})
    env = TokenObservation(_ConstEnv(space, {"a": value, "b": 1}))
    with pytest.raises(ValueError, match=f"'a'.*{reason}"):
        env.reset()
