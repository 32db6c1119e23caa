"""Thin RLlib (new API stack) layer over the pure-torch models: RLModules and algorithm building.

The public doors for RLlib users (docs/rllib.md), importable from here:

* ``perceiver_module_spec(env, model, env_config)``: the ``RLModuleSpec`` for ``PPOConfig().rl_module(...)``
  / ``APPOConfig``; ``register_user_env(env)``: the name for ``.environment()`` of a user's env id, class or
  creator that every EnvRunner can make; ``InfoCounters``: the optional episode-metrics callback
  (:mod:`agents.rllib.api`).
* ``rl_module_from_run``, ``algorithm_from_run``, ``run_algorithm_config``, ``load_module_weights``: a
  ``perceiver-rl`` run directory into RLlib; ``save_run``: an RLlib Algorithm / RLModule into a run directory
  (:mod:`agents.rllib.runs`).

They are imported on first use, so that an EnvRunner that unpickles one RLModule class imports no more.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "InfoCounters": "api",
    "experiment_config": "api",
    "perceiver_module_spec": "api",
    "register_user_env": "api",
    "algorithm_from_run": "runs",
    "load_module_weights": "runs",
    "rl_module_from_run": "runs",
    "run_algorithm_config": "runs",
    "save_run": "runs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
