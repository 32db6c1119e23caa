"""An env that never steps ends training in one line instead of being recreated forever (issue 30): the crash guard
every RLlib env is wrapped in, and the trainer's stop when nothing is sampled any more."""

from __future__ import annotations

import logging

import gymnasium as gym
import pytest

from agents.rllib import faults
from support.hostile import CARTPOLE, _in_process


class Crashy(gym.Env):
    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.crash = True

    def reset(self, *, seed=None, options=None):
        return 0, {}

    def step(self, action):
        if self.crash:
            raise OSError("the game process died\nmore detail")
        return 0, 1.0, False, False, {}


@pytest.fixture(autouse=True)
def fresh_count(monkeypatch):
    monkeypatch.setattr(faults, "_crashes_in_a_row", 0)


def test_crashes_are_reported_once_handed_to_rllib_quietly_and_counted_until_a_step_succeeds():
    from ray.rllib.env.env_errors import StepFailedRecreateEnvError

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("ray.rllib")  # RLlib's logger (it does not propagate to the root)
    logger.addHandler(handler)
    try:
        env = faults.CrashGuard(Crashy())
        for _ in range(3):
            with pytest.raises(StepFailedRecreateEnvError):  # RLlib recreates the env and logs no traceback
                env.step(0)
    finally:
        logger.removeHandler(handler)
    assert faults._crashes_in_a_row == 3
    assert [r.getMessage() for r in records] == [
        "env <Crashy instance>: step crashed (OSError: the game process died); recreating it"
    ]
    env.env.crash = False
    env.step(0)
    assert faults._crashes_in_a_row == 0


def test_the_creator_gives_up_after_too_many_crashes_in_a_row(monkeypatch):
    monkeypatch.setattr(faults, "_crashes_in_a_row", faults.MAX_CONSECUTIVE_CRASHES)
    with pytest.raises(faults.EnvKeepsCrashing, match="crashed 100 times in a row without one successful step"):
        faults._creator("CartPole-v1", (), None)
    monkeypatch.setattr(faults, "_crashes_in_a_row", faults.MAX_CONSECUTIVE_CRASHES - 1)
    assert isinstance(faults._creator("CartPole-v1", (), None), faults.CrashGuard)


def test_gave_up_finds_the_cause_however_it_is_wrapped():
    cause = faults.EnvKeepsCrashing("x")
    try:
        try:
            raise cause
        except faults.EnvKeepsCrashing as e:
            raise RuntimeError("sample failed") from e
    except RuntimeError as wrapped:
        assert faults.gave_up(wrapped) is cause

    class RayTaskErrorLike(Exception):
        cause = faults.EnvKeepsCrashing("remote")

    assert isinstance(faults.gave_up(RayTaskErrorLike()), faults.EnvKeepsCrashing)
    assert faults.gave_up(ValueError("other")) is None


def test_training_on_an_env_that_never_steps_ends_in_one_line(tmp_path):
    """``crash_prob`` 0.999 (allowed: < 1) with the local EnvRunner: 100 crashes in a row, then exit 2."""
    code, err = _in_process(
        tmp_path,
        ["train", CARTPOLE, "--set", f"runs_dir={tmp_path / 'runs'}", "--set", "faults.crash_prob=0.999",
         "--set", "env_runners.num_env_runners=0", "--set", "stop.iterations=2"],
    )  # fmt: skip
    assert code == 2, err[-2000:]
    lines = [line for line in err.splitlines() if line.startswith("perceiver-rl: error: ")]
    assert lines == [
        "perceiver-rl: error: env perceiver_rl/Tokens-CartPole-v1: crashed 100 times in a row without one successful "
        "step; giving up; training stopped"
    ], err[-2000:]
