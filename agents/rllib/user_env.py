"""A user's env in a plain RLlib script (docs/rllib.md, "Your own env"): :func:`register_user_env` gives an env id, a
``gymnasium.Env`` subclass or a creator a name in RLlib's registry whose creator works in every EnvRunner process,
and checks it in the driver before Ray starts.

RLlib's EnvRunners make their env from ``AlgorithmConfig.env`` in their own process: an id that only the driver
registered (a plugin module it imported, or the script itself) is unknown there (gymnasium's ``NamespaceNotFound``),
and RLlib then fails in the driver with ``IndexError: list index out of range`` (no EnvRunner reported its spaces).
The creator registered here imports the ``plugins`` first (the mechanism of ``perceiver-rl train``), and carries
the id's gymnasium spec for an id that no plugin registers (one of the script's own ``gymnasium.register``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

import envs

from ..experiment.config import ConfigError, first_line
from ..experiment.plugins import env_module_problem, import_plugins, unknown_env, with_env_module
from .faults import remember_plugins

UserEnv = str | type[gym.Env] | Callable[[Any], gym.Env]
"""An env id (``perceiver_rl/...``, a gymnasium id, one a plugin registers, or ``module:id``), a ``gymnasium.Env``
subclass or a creator; a class and a creator are called with ``env_config`` (RLlib's convention: one argument,
the mapping), an id's entry point with its keys (gymnasium's: ``gym.make(id, **env_config)``)."""

USER_NAMESPACE = "user_env"
"""The gymnasium namespace of the ids given to classes and creators: ``user_env/<module>.<name>``."""
_FACTORIES: dict[str, Callable[[Any], gym.Env]] = {}
"""Generated id -> the class or creator it names (in this process)."""


def _call_with_config(factory: Callable[[Any], gym.Env], **env_config: Any) -> gym.Env:
    """gymnasium's entry point of a class or creator: its keyword arguments as RLlib's one ``env_config``."""
    return factory(env_config)


def _make_factory(factory: Callable[[Any], gym.Env], plugins: tuple[str, ...], env_config: Any = None) -> gym.Env:
    """RLlib's creator of a class or creator (in an EnvRunner): ``plugins`` imported, then ``factory(env_config)``."""
    import_plugins(plugins)
    return factory({} if env_config is None else env_config)


def _make_id(env_id: str, plugins: tuple[str, ...], spec: EnvSpec, env_config: Any = None) -> gym.Env:
    """RLlib's creator of an id (in an EnvRunner): ``plugins`` imported, then ``gym.make(env_id)``; an id none of them
    registers (the driver script's own) from the spec the driver had."""
    envs.register_all(rllib=False)
    import_plugins(plugins)
    return gym.make(env_id if env_id in gym.registry else spec, **dict(env_config or {}))


def factory_id(factory: Callable[[Any], gym.Env]) -> str:
    """The gymnasium id (``user_env/<module>.<qualified name>``, ``_2``, ... where that is another's) registered for
    the class or creator ``factory`` in this process (made as ``factory(env_config)``); the same id every call."""
    module = getattr(factory, "__module__", None)
    qualname = getattr(factory, "__qualname__", None) or type(factory).__name__
    base = re.sub(r"[^\w.-]+", "_", qualname if module in (None, "__main__") else f"{module}.{qualname}")
    base = base.strip("_") or "env"  # ``<lambda>`` -> ``lambda``
    name, n = f"{USER_NAMESPACE}/{base}", 1
    while _FACTORIES.get(name, factory) is not factory:
        n += 1
        name = f"{USER_NAMESPACE}/{base}_{n}"
    if name not in _FACTORIES:
        _FACTORIES[name] = factory
        gym.register(name, entry_point=functools.partial(_call_with_config, factory))
    return name


def user_env_id(env: UserEnv, plugins: Sequence[str] = ()) -> tuple[str, str, Callable[..., gym.Env]]:
    """``(name, gymnasium id, RLlib creator)`` of ``env``: the name is ``env`` itself for an id (``module:id`` too),
    :func:`factory_id` for a class or creator. ``ConfigError`` naming ``env`` (or ``plugins``) for a module that
    cannot be imported, an id that gymnasium does not know once the plugins are imported, or another kind of value."""
    if isinstance(env, str):
        problem = env_module_problem(env)
        if problem:
            raise ConfigError(f"env: {problem}")
        env_id, names = with_env_module(env, plugins)
        import_plugins(names)
        envs.register_all(rllib=False)
        if env_id not in gym.registry:
            raise unknown_env("env", env_id, names)
        return env, env_id, functools.partial(_make_id, env_id, tuple(names), gym.spec(env_id))
    if callable(env):
        import_plugins(plugins)
        name = factory_id(env)
        return name, name, functools.partial(_make_factory, env, tuple(plugins))
    raise ConfigError(
        f"env: expected an env id, a gymnasium.Env subclass or a creator (env_config -> Env), got {type(env).__name__}"
    )


def register_env_name(env: UserEnv, plugins: Sequence[str] = ()) -> tuple[str, str]:
    """Register ``env`` in RLlib's registry (:func:`user_env_id`) without making it; ``(name for .environment(),
    gymnasium id)``."""
    from ray.tune.registry import register_env

    name, env_id, creator = user_env_id(env, plugins)
    try:
        register_env(name, creator)  # pickled now, for the EnvRunner processes
    except Exception as e:
        raise ConfigError(
            f"env: {name} cannot be sent to EnvRunner processes ({type(e).__name__}: {first_line(e)})"
        ) from None
    remember_plugins(name, plugins)  # for save_run: the run's config.yaml names them
    return name, env_id


def register_user_env(env: UserEnv, env_config: Mapping[str, Any] | None = None, *, plugins: Sequence[str] = ()) -> str:
    """Make ``env`` usable in ``AlgorithmConfig.environment(name, env_config=env_config)`` with EnvRunner processes;
    returns that name (an id as given; ``user_env/<module>.<name>`` for a class or a creator). ``env``: an id
    (``perceiver_rl/...``, gymnasium's own, one that a module of ``plugins`` registers, or ``module:id``), a
    ``gymnasium.Env`` subclass or a creator, both called as ``env(env_config)``. ``plugins``: modules imported
    now and in every EnvRunner before it makes the env.

    The env is made once here (and closed), so that a missing registration, a module that cannot be imported or
    arguments the env rejects raise one ``ConfigError`` line naming ``env`` (or ``env_config``) before Ray starts,
    not RLlib's ``IndexError`` from inside the EnvRunners. ``perceiver_module_spec`` registers its ``env`` the same
    way."""
    from .build import make_env

    name, env_id = register_env_name(env, plugins)
    make_env(env_id, dict(env_config or {}), plugins=plugins).close()
    return name
