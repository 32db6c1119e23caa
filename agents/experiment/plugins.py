"""``plugins:``, the user's modules that register encoders, heads, algorithms or env ids (``@register_entity_encoder
("name")``, ``gymnasium.register(...)``), so that a YAML file can name them. A plugin is imported when the config is
built (the driver, before Ray starts), in every EnvRunner before it makes its env (``agents.rllib.faults``) and in
every process that builds the RLModule (EnvRunners, learners: the names travel in its ``model_config``).

gymnasium's ``module:id`` form of ``env`` (``env: my_envs:MyEnv-v0``) is the same mechanism: the config moves
``my_envs`` into ``plugins`` (:func:`split_env`) and keeps the id, so that the run's ``config.yaml`` records it."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from ..nets.config_values import ConfigError, first_line


def plugin_problem(name: str) -> str | None:
    """Import module ``name``; None once it is imported, else why not (one line)."""
    try:
        importlib.import_module(name)
    except Exception as e:  # a plugin's own errors too: any failure is the config's
        return f"cannot import {name!r} ({type(e).__name__}: {first_line(e)})"
    return None


def import_plugins(names: Iterable[str]) -> None:
    """Import every module of ``names``; ``ConfigError`` naming ``plugins`` and the first that fails."""
    for name in names:
        problem = plugin_problem(name)
        if problem:
            raise ConfigError(f"plugins: {problem}")


def split_env(env: str) -> tuple[str | None, str]:
    """gymnasium's ``module:id`` form -> ``(module, id)``; a plain id -> ``(None, id)`` (a gymnasium id has no
    ``:``, so the first one splits)."""
    module, sep, env_id = env.partition(":")
    return (module.strip(), env_id.strip()) if sep else (None, env)


def env_module_problem(env: str) -> str | None:
    """Why the module part of ``env`` (``module:id``) cannot be imported (one line), or None (imported, or none)."""
    module, env_id = split_env(env)
    if module is None:
        return None
    if not module or not env_id:
        return f"expected MODULE:ID (gymnasium's form), got {env!r}"
    try:
        importlib.import_module(module)
    except Exception as e:  # as a plugin's: any failure is the config's
        return f"cannot import module {module!r} of {env!r} ({type(e).__name__}: {first_line(e)})"
    return None


def with_env_module(env: str, plugins: Iterable[str]) -> tuple[str, list[str]]:
    """``(id, plugins)`` for ``env`` and ``plugins``: the module of a ``module:id`` env appended to the plugins (once),
    the one code path that imports it wherever plugins are imported."""
    module, env_id = split_env(env)
    names = list(plugins)
    if module and module not in names:
        names.append(module)
    return env_id, names


def unknown_env(key: str, env_id: str, plugins: Iterable[str]) -> ConfigError:
    """The one line for an id that gymnasium does not know after ``plugins`` were imported."""
    names = list(plugins)
    where = f"registered by none of plugins {names}"
    if not names:
        where += ": a module that registers it goes in plugins, or before the id as MODULE:ID"
    return ConfigError(f"{key}: unknown environment {env_id!r} ({where}; `perceiver-rl list` shows the built-in ids)")
