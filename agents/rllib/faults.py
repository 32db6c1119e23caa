"""Fault injection for testing fault tolerance: envs that crash mid-episode, EnvRunners that die.

``faults.crash_at_step`` / ``faults.crash_prob`` make ``step()`` raise :class:`EnvCrashed` (what a dying
SC2 game process looks like to the adapter): RLlib recreates the sub-environment, drops the broken
episode and goes on (``restart_failed_sub_environments``). ``faults.kill_process`` instead ends the whole
EnvRunner process (``os._exit``), which RLlib's ``restart_failed_env_runners`` replaces.
"""

from __future__ import annotations

import functools
import os

import gymnasium as gym
import numpy as np

from ..experiment.config import FaultConfig


class EnvCrashed(RuntimeError):
    """An injected environment crash."""


class FaultInjectionWrapper(gym.Wrapper):
    """Crash after ``crash_at_step`` steps of this env instance and/or with ``crash_prob`` per step."""

    def __init__(self, env: gym.Env, faults: FaultConfig) -> None:
        super().__init__(env)
        self.faults, self.steps = faults, 0
        self.rng = np.random.default_rng(faults.seed + os.getpid())

    def step(self, action):
        self.steps += 1
        f = self.faults
        if (f.crash_at_step is not None and self.steps >= f.crash_at_step) or self.rng.random() < f.crash_prob:
            if f.kill_process:
                os._exit(13)
            raise EnvCrashed(f"injected crash at step {self.steps} of this env instance")
        return self.env.step(action)


def _creator(env_id: str, faults: FaultConfig, env_config=None) -> gym.Env:
    import envs  # noqa: F401 - registers the perceiver_rl ids with gymnasium

    return FaultInjectionWrapper(gym.make(env_id, **dict(env_config or {})), faults)


def register_faulty_env(env_id: str, faults: FaultConfig) -> str:
    """Register ``<env_id>+faults`` with RLlib and return that name."""
    from ray.tune.registry import register_env

    name = f"{env_id}+faults"
    register_env(name, functools.partial(_creator, env_id, faults))
    return name
