"""``plugins:``, the user's modules that register encoders or heads (``@register_entity_encoder("name")``), so
that a YAML file can name them. A plugin is imported when the config is built (the driver, before Ray starts)
and in every process that builds the RLModule (EnvRunners, learners: the names travel in its ``model_config``)."""

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
