"""Hostile actions: every env checks an action against its gymnasium action space with the one function
:func:`envs.spec.check_action` before anything runs. A value outside the space (wrong type, a bool, a fraction, out
of range, a wrong shape, a missing or extra key) is a one-line ``ValueError`` naming the field, and the env stays
usable: the next valid step is the step a fresh env takes (the rejected action advanced nothing)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import envs  # noqa: F401 - registers the ids
from envs.spec import check_action
from envs.tokens.wrapper import TokenObservation

# ------------------------------------------------------------------------------------------ token envs
TOKEN_IDS = {"perceiver_rl/Tokens-Acrobot-v1": 3, "perceiver_rl/Tokens-CartPole-v1": 2}
"""Token env id -> its Discrete action count."""
BAD_DISCRETE = {
    "-1": -1,
    "n": None,  # replaced by the env's action count
    "True": True,
    "False": False,
    "np.bool_": np.bool_(True),
    "1.5": 1.5,
    "1.0": 1.0,
    "np.float64": np.float64(1.0),
    "float 0-d": np.array(1.0),
    "nan": float("nan"),
    "'1'": "1",
    "None": None,
    "list": [1],
    "array (1,)": np.array([1]),
    "dict": {"action": 1},
}
VALID_DISCRETE = {"int": 1, "np.int64": np.int64(1), "np.uint8": np.uint8(1), "int 0-d": np.array(1)}


def _first_steps(env_id: str, seed: int, actions: list) -> list[np.ndarray]:
    env = gym.make(env_id)
    env.reset(seed=seed)
    return [env.step(a)[0]["entities"] for a in actions]


@pytest.mark.parametrize("env_id", sorted(TOKEN_IDS))
@pytest.mark.parametrize("kind", sorted(BAD_DISCRETE))
def test_token_env_refuses_a_bad_discrete_action_and_stays_usable(env_id, kind):
    n = TOKEN_IDS[env_id]
    bad = n if kind == "n" else BAD_DISCRETE[kind]
    env = gym.make(env_id)
    env.reset(seed=5)
    with pytest.raises(ValueError, match=rf"^action: expected an int in \[0, {n}\), got ") as err:
        env.step(bad)
    assert "\n" not in str(err.value)
    obs = env.step(1)[0]["entities"]  # the rejected action advanced nothing: this is a fresh env's first step
    np.testing.assert_array_equal(obs, _first_steps(env_id, 5, [1])[0])


@pytest.mark.parametrize("kind", sorted(VALID_DISCRETE))
def test_token_env_takes_numpy_ints_and_0d_int_arrays(kind):
    env_id = "perceiver_rl/Tokens-Acrobot-v1"
    env = gym.make(env_id)
    env.reset(seed=2)
    obs = env.step(VALID_DISCRETE[kind])[0]["entities"]
    np.testing.assert_array_equal(obs, _first_steps(env_id, 2, [1])[0])


def test_acrobot_minus_one_is_not_action_two():
    """The reported bug: ``-1`` indexed Acrobot's torques from the end and played action 2."""
    env = gym.make("perceiver_rl/Tokens-Acrobot-v1")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="got -1"):
        env.step(-1)
    got = [env.step(a)[0]["entities"] for a in (2, 0, 2)]
    for a, b in zip(got, _first_steps("perceiver_rl/Tokens-Acrobot-v1", 0, [2, 0, 2])):
        np.testing.assert_array_equal(a, b)


def test_minigrid_token_env_refuses_out_of_range_actions():
    env = gym.make("perceiver_rl/Tokens-MiniGrid-DoorKey-5x5-v0")
    env.reset(seed=0)
    n = env.action_space.n
    for bad in (-1, n, True, 2.0, "2", None):
        with pytest.raises(ValueError, match=rf"action: expected an int in \[0, {n}\)"):
            env.step(bad)
    env.step(np.int64(2))


def test_token_env_with_a_box_action_checks_shape_bounds_and_finiteness():
    env = TokenObservation(gym.make("Pendulum-v1"))  # Box(-2, 2, (1,), float32)
    env.reset(seed=0)
    cases = {
        "expected shape \\(1,\\), got \\(\\)": 0.5,
        "expected shape \\(1,\\), got \\(1, 1\\)": [[0.5]],
        "NaN or inf": [np.nan],
        "expected values in \\[-2.0, 2.0\\], got 3.0": [3.0],
        "a bool": [True],
        "dtype <U": ["1"],
    }
    for reason, bad in cases.items():
        with pytest.raises(ValueError, match=f"^action.*{reason}"):
            env.step(bad)
    reference = TokenObservation(gym.make("Pendulum-v1"))
    reference.reset(seed=0)
    np.testing.assert_array_equal(env.step([0.5])[0]["entities"], reference.step(np.float32([0.5]))[0]["entities"])


# ------------------------------------------------------------------------------------ structured envs
SIM_ID = "perceiver_rl/Sim-MoveToBeacon-v0"
N, M, K = 32, 4, 4  # the default max_entities, max_selected; MoveToBeacon's action types


def _valid() -> dict:
    return {"action_type": 0, "queued": 0, "selected_units": np.full(M, N), "target_unit": 0, "location": 0}


def _without(key: str) -> dict:
    return {k: v for k, v in _valid().items() if k != key}


BAD_STRUCTURED = {
    "selected_units (2, 2)": (dict(_valid(), selected_units=np.full((2, 2), N)), "selected_units", r"shape \(4,\)"),
    "selected_units (1, 4)": (dict(_valid(), selected_units=np.full((1, M), N)), "selected_units", r"got \(1, 4\)"),
    "selected_units (4, 1)": (dict(_valid(), selected_units=np.full((M, 1), N)), "selected_units", r"got \(4, 1\)"),
    "selected_units (8,)": (dict(_valid(), selected_units=np.full(2 * M, N)), "selected_units", r"got \(8,\)"),
    "selected_units ()": (dict(_valid(), selected_units=np.array(N)), "selected_units", r"got \(\)"),
    "selected_units ragged": (dict(_valid(), selected_units=[[N, N], [N]]), "selected_units", "expected an array"),
    "selected_units bool": (dict(_valid(), selected_units=[N, N, N, True]), "selected_units", "a bool"),
    "selected_units N + 1": (dict(_valid(), selected_units=[0, N + 1, N, N]), "selected_units", r"\[0, 33\)"),
    "selected_units float": (dict(_valid(), selected_units=np.full(M, float(N))), "selected_units", "dtype float64"),
    "action_type K": (dict(_valid(), action_type=K), "action_type", rf"\[0, {K}\), got {K}"),
    "action_type -1": (dict(_valid(), action_type=-1), "action_type", "got -1"),
    "action_type True": (dict(_valid(), action_type=True), "action_type", "got True"),
    "action_type 1.5": (dict(_valid(), action_type=1.5), "action_type", "got 1.5"),
    "action_type (1,)": (dict(_valid(), action_type=np.array([1])), "action_type", r"got array\(\[1\]\)"),
    "queued None": (dict(_valid(), queued=None), "queued", "got None"),
    "location '3'": (dict(_valid(), location="3"), "location", "got '3'"),
    "target_unit N": (dict(_valid(), target_unit=N), "target_unit", rf"\[0, {N}\), got {N}"),
    **{f"missing {k}": (_without(k), k, "is missing") for k in _valid()},
    "extra key": (dict(_valid(), camera=0), "camera", "unexpected key"),
}


@pytest.fixture(scope="module")
def sim_reference():
    """A fresh env's first step on :func:`_valid` from seed 3: observation and info."""
    env = gym.make(SIM_ID)
    env.reset(seed=3)
    obs, _, _, _, info = env.step(_valid())
    return obs, info


@pytest.mark.parametrize("kind", sorted(BAD_STRUCTURED))
def test_structured_env_refuses_a_bad_action_naming_the_field_and_stays_usable(sim_reference, kind):
    action, field, reason = BAD_STRUCTURED[kind]
    env = gym.make(SIM_ID)
    env.reset(seed=3)
    with pytest.raises(ValueError, match=rf"^action\['{field}'\].*{reason}") as err:
        env.step(action)
    assert "\n" not in str(err.value)
    obs, _, _, _, info = env.step(_valid())
    ref_obs, ref_info = sim_reference
    assert info["episode_length"] == 1 and info["game_loop"] == ref_info["game_loop"]
    for key in ref_obs:
        np.testing.assert_array_equal(obs[key], ref_obs[key], err_msg=key)


@pytest.mark.parametrize("bad", [None, 3, [0, 0, 0, 0, 0], "action"], ids=repr)
def test_structured_env_refuses_a_non_mapping(bad):
    env = gym.make(SIM_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="^action: expected a mapping with keys action_type, location, queued"):
        env.step(bad)


def test_structured_env_takes_0d_arrays_numpy_ints_and_lists():
    env = gym.make(SIM_ID)
    env.reset(seed=0)
    action = {"action_type": np.array(0), "queued": np.int8(0), "selected_units": [N] * M,
              "target_unit": np.uint16(0), "location": np.array(0, np.int32)}  # fmt: skip
    *_, info = env.step(action)
    assert info["episode_length"] == 1 and info["illegal_action"] == ""


# ---------------------------------------------------------------------------------------- check_action
def test_check_action_returns_the_canonical_form():
    space = spaces.Dict({"b": spaces.MultiDiscrete([3, 3]), "a": spaces.Discrete(4, start=-1)})
    out = check_action(space, {"a": np.array(2), "b": [0, 2]})
    assert list(out) == ["a", "b"] and type(out["a"]) is int and out["a"] == 2
    assert out["b"].dtype == np.int64 and out["b"].tolist() == [0, 2]
    assert check_action(spaces.Discrete(4, start=-1), -1) == -1
    with pytest.raises(ValueError, match=r"action: expected an int in \[-1, 3\), got 3"):
        check_action(spaces.Discrete(4, start=-1), 3)


@pytest.mark.parametrize(
    "space,bad,message",
    [
        (
            spaces.MultiDiscrete([[3, 4], [2, 5]]),
            [[0, 4], [0, 0]],
            r"act: expected ints in \[0, 4\), got 4 at \[0, 1\]",
        ),
        (spaces.MultiDiscrete([3, 3], start=[1, 1]), [0, 1], r"act: expected ints in \[1, 4\), got 0 at \[0\]"),
        (spaces.MultiDiscrete([3, 3]), [0, 1, 2], r"act: expected shape \(2,\), got \(3,\)"),
        (spaces.MultiBinary(3), [0, 2, 1], "act: expected 0 / 1 ints"),
        (spaces.Box(0, 5, (), np.int64), 2.5, "act: expected integers, got fractional values"),
        (spaces.Box(-1, 1, (2,), np.float32), [0.0, np.inf], "act contains NaN or inf"),
        (spaces.Tuple((spaces.Discrete(2), spaces.Discrete(2))), (1, 2), r"act\[1\]: expected an int in \[0, 2\)"),
        (spaces.Tuple((spaces.Discrete(2), spaces.Discrete(2))), (1,), "act: expected a sequence of 2 values"),
        (spaces.Text(4), 5, "act: expected a member of Text"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, spaces.Space) else None,
)
def test_check_action_names_the_field_for_every_space(space, bad, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        check_action(space, bad, "act")
