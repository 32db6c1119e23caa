"""Fault injection for testing fault tolerance: envs that crash mid-episode, EnvRunners that die; and the guard that
gives up on an env that never steps.

``faults.crash_at_step`` / ``faults.crash_prob`` make ``step()`` raise :class:`EnvCrashed` (what a dying
SC2 game process looks like to the adapter): RLlib recreates the sub-environment, drops the broken
episode and goes on (``restart_failed_sub_environments``). ``faults.kill_process`` instead ends the whole
EnvRunner process (``os._exit``), which RLlib's ``restart_failed_env_runners`` replaces.

Every env RLlib makes through :func:`register_rllib_env` is wrapped in :class:`CrashGuard`: a crash is reported once
per process in one line (RLlib would log a traceback for every one, tens of thousands a minute for an env that crashes
at once), and after :data:`MAX_CONSECUTIVE_CRASHES` crashes without one successful step in between the next recreation
raises :class:`EnvKeepsCrashing` instead of going on forever.
"""

from __future__ import annotations

import functools
import logging
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


MAX_CONSECUTIVE_CRASHES = 100
"""Env crashes in a row, without a successful step between them, after which an EnvRunner gives up."""

_crashes_in_a_row = 0
"""This process's env crashes since its envs last stepped successfully (:class:`CrashGuard`)."""


class EnvKeepsCrashing(RuntimeError):
    """The env crashed :data:`MAX_CONSECUTIVE_CRASHES` times in a row: recreating it again would never end."""


class CrashGuard(gym.Wrapper):
    """Counts crashes of ``step`` in a row (per process), reports the first in one line and hands RLlib a
    ``StepFailedRecreateEnvError`` (recreate the env, log nothing) instead of the crash's traceback."""

    def step(self, action):
        global _crashes_in_a_row
        from ray.rllib.env.env_errors import StepFailedRecreateEnvError

        try:
            result = self.env.step(action)
        except Exception as e:
            _crashes_in_a_row += 1
            if _crashes_in_a_row == 1:
                logging.getLogger("ray.rllib").error(
                    f"env {self.spec.id if self.spec else self.env}: step crashed ({type(e).__name__}: "
                    f"{str(e).splitlines()[0] if str(e) else ''}); recreating it"
                )
            raise StepFailedRecreateEnvError(str(e)) from e
        _crashes_in_a_row = 0
        return result


def _creator(env_id: str, plugins: tuple[str, ...], faults: FaultConfig | None, env_config=None) -> gym.Env:
    import envs  # noqa: F401 - registers the perceiver_rl ids with gymnasium

    if _crashes_in_a_row >= MAX_CONSECUTIVE_CRASHES:
        raise EnvKeepsCrashing(
            f"env {env_id}: crashed {_crashes_in_a_row} times in a row without one successful step; giving up"
        )
    import_plugins(plugins)  # an id a plugin registers: imported in the EnvRunner before the env is made
    env = gym.make(env_id, **dict(env_config or {}))
    return CrashGuard(env if faults is None else FaultInjectionWrapper(env, faults))


def gave_up(error: BaseException) -> EnvKeepsCrashing | None:
    """The :class:`EnvKeepsCrashing` behind ``error`` (raised here, chained, or the cause of a Ray task error from a
    remote EnvRunner); None when there is none."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, EnvKeepsCrashing):
            return e
        todo += [e.__cause__, e.__context__, getattr(e, "cause", None)]
    return None


_PLUGINS_OF: dict[str, tuple[str, ...]] = {}
"""RLlib env name -> the plugins its creator imports (this process's registrations)."""


def remember_plugins(name: str, plugins: Sequence[str]) -> None:
    """Note that RLlib env ``name``'s creator imports ``plugins`` (:func:`plugins_of`)."""
    _PLUGINS_OF[name] = tuple(plugins)


def plugins_of(name: object) -> list[str]:
    """The plugins that RLlib env ``name``'s creator imports, where this process registered it; else none."""
    return list(_PLUGINS_OF.get(name, ())) if isinstance(name, str) else []


def register_rllib_env(env_id: str, plugins: Sequence[str], faults: FaultConfig | None) -> str:
    """Register ``env_id`` with RLlib under a name whose creator imports ``plugins`` first (so that an env a plugin
    registers exists in every EnvRunner), with ``faults`` wraps it in :class:`FaultInjectionWrapper`, and always in
    :class:`CrashGuard`; returns that name (``env_id``, ``<env_id>+plugins``, ``<env_id>+faults`` or both)."""
    from ray.tune.registry import register_env

    name = env_id + (PLUGINS_SUFFIX if plugins else "") + (FAULTS_SUFFIX if faults is not None else "")
    register_env(name, functools.partial(_creator, env_id, tuple(plugins), faults))
    remember_plugins(name, plugins)
    return name


def env_id_of(rllib_env: str) -> str:
    """The env id behind a name of :func:`register_rllib_env` (what a run directory records); other names as given."""
    for suffix in (FAULTS_SUFFIX, PLUGINS_SUFFIX):
        rllib_env = rllib_env.removesuffix(suffix)
    return rllib_env
