"""Fault injection for testing fault tolerance: envs that crash mid-episode, EnvRunners that die.

``faults.crash_at_step`` / ``faults.crash_prob`` make ``step()`` raise :class:`EnvCrashed` (what a dying
SC2 game process looks like to the adapter): RLlib recreates the sub-environment, drops the broken
episode and goes on (``restart_failed_sub_environments``). ``faults.kill_process`` instead ends the whole
EnvRunner process (``os._exit``), which RLlib's ``restart_failed_env_runners`` replaces.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from ..experiment.config import FaultConfig
from ..experiment.plugins import import_plugins

PLUGINS_SUFFIX, FAULTS_SUFFIX = "+plugins", "+faults"
"""What :func:`register_rllib_env` appends to an env id: its creator imports plugins / injects faults."""


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


def _creator(env_id: str, plugins: tuple[str, ...], faults: FaultConfig | None, env_config=None) -> gym.Env:
    import envs  # noqa: F401 - registers the perceiver_rl ids with gymnasium

    import_plugins(plugins)  # an id a plugin registers: imported in the EnvRunner before the env is made
    env = gym.make(env_id, **dict(env_config or {}))
    return env if faults is None else FaultInjectionWrapper(env, faults)


def register_rllib_env(env_id: str, plugins: Sequence[str], faults: FaultConfig | None) -> str:
    """Register ``env_id`` with RLlib under a name whose creator imports ``plugins`` first (so that an env a plugin
    registers exists in every EnvRunner) and, with ``faults``, wraps it in :class:`FaultInjectionWrapper`; returns
    that name (``<env_id>+plugins``, ``<env_id>+faults`` or both)."""
    from ray.tune.registry import register_env

    name = env_id + (PLUGINS_SUFFIX if plugins else "") + (FAULTS_SUFFIX if faults is not None else "")
    register_env(name, functools.partial(_creator, env_id, tuple(plugins), faults))
    return name


def env_id_of(rllib_env: str) -> str:
    """The env id behind a name of :func:`register_rllib_env` (what a run directory records); other names as given."""
    for suffix in (FAULTS_SUFFIX, PLUGINS_SUFFIX):
        rllib_env = rllib_env.removesuffix(suffix)
    return rllib_env
