"""Our RLModules in a plain RLlib script: :func:`perceiver_module_spec` gives the ``RLModuleSpec`` for an env and
the ``model:`` keys of an experiment YAML (docs/rllib.md)::

    import envs
    from ray.rllib.algorithms.ppo import PPOConfig
    from agents.rllib import perceiver_module_spec

    env, env_config = "perceiver_rl/Sim-MoveToBeacon-v0", {"spatial_size": 32}
    spec = perceiver_module_spec(env, {"module": "alphastar", "policy": {"encoder": "perceiver"}}, env_config)
    algo = PPOConfig().environment(env, env_config=env_config).rl_module(rl_module_spec=spec).build_algo()
    algo.train()

``env`` may also be an id that one of ``plugins`` registers, ``module:id``, a ``gymnasium.Env`` subclass or a creator
(``env_config -> Env``): :func:`register_user_env` (which ``perceiver_module_spec`` calls) gives it the name for
``.environment()`` under which every EnvRunner process can make it.

Nothing else is needed: the modules bring their own action distributions (``get_*_action_dist_cls``) and value
functions, and work with RLlib's default connectors, for PPO and APPO alike. ``InfoCounters`` is the optional
callback that ``perceiver-rl train`` adds (episode metrics of the SC2 adapter's truncation / illegal actions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ray.rllib.core.rl_module.rl_module import RLModuleSpec

import envs

from ..experiment.config import ExperimentConfig, ModelConfig
from ..experiment.loader import config_from_dict
from .build import ALGORITHMS, build_module, check_choices, check_env, module_spec
from .callbacks import InfoCounters
from .user_env import UserEnv, factory_id, register_env_name, register_user_env

__all__ = ["InfoCounters", "UserEnv", "experiment_config", "perceiver_module_spec", "register_user_env"]


def experiment_config(
    env: UserEnv,
    model: Mapping[str, Any] | ModelConfig | None = None,
    env_config: Mapping[str, Any] | None = None,
    algorithm: str = "PPO",
    plugins: Sequence[str] = (),
) -> ExperimentConfig:
    """The typed experiment of ``env`` with ``model`` (the keys of a YAML ``model:`` section, or a ``ModelConfig``)
    and ``plugins``, type- and range-checked as the YAML is; ``ConfigError`` (a ``ValueError``) naming the key
    otherwise (``model.num_heads: expected a divisor of model.latent_channels (64), got 3``). A class or creator
    ``env`` is named by its gymnasium id in this process (:func:`agents.rllib.user_env.factory_id`)."""
    if not isinstance(env, str) and callable(env):
        env = factory_id(env)
    if isinstance(model, ModelConfig):
        model = dataclasses.asdict(model)
    return config_from_dict({"env": env, "algorithm": algorithm, "env_config": dict(env_config or {}),
                             "model": dict(model or {}), "plugins": list(plugins)})  # fmt: skip


def perceiver_module_spec(
    env: UserEnv,
    model: Mapping[str, Any] | ModelConfig | None = None,
    env_config: Mapping[str, Any] | None = None,
    *,
    plugins: Sequence[str] = (),
) -> RLModuleSpec:
    """The ``RLModuleSpec`` that ``perceiver-rl train`` would give RLlib for ``env`` and ``model``, for
    ``AlgorithmConfig.rl_module(rl_module_spec=...)`` of PPO or APPO.

    ``env``: an id of ``perceiver-rl list``, of gymnasium, one that a module of ``plugins`` registers or
    ``module:id``; or a ``gymnasium.Env`` subclass or a creator, both called as ``env(env_config)`` (RLlib's
    convention). It is registered in RLlib's registry (:func:`register_user_env`) under the name to give
    ``.environment()``: the id as given, ``register_user_env(env)`` for a class or creator. ``env_config``: its
    arguments, the same as given to ``.environment()`` (an SC2-style env's observation / action contract is read
    from the env they make). ``model``: the keys of an experiment YAML's ``model:`` section (``module``:
    ``alphastar``, the policy family of SC2-style and token envs, or ``default`` for RLlib's MLP; ``policy``:
    ``encoder``, ``heads``, widths, ``lstm`` ...); missing keys take their defaults. ``plugins``: modules that
    register the user's env ids, encoders or heads (the YAML's ``plugins:``), imported now and in every EnvRunner
    (before it makes the env) and learner that builds the module.

    The env is made once and the module built once, so that every mistake a config can make (an env no plugin
    registers, unknown key or name, out-of-range value, an env whose observations do not fit the module, a model
    that cannot be built) raises ``ConfigError`` naming it here, not later inside an EnvRunner.
    """
    envs.register_all()  # the RLlib names too: EnvRunner processes look the ids up there
    name, _ = register_env_name(env, plugins)
    cfg = experiment_config(name, model, env_config, plugins=plugins)
    check_choices(cfg)
    gym_env = check_env(cfg)
    try:
        spec = module_spec(cfg, gym_env)
        build_module(cfg, gym_env, ALGORITHMS[cfg.algorithm]().rl_module(rl_module_spec=spec))
    finally:
        gym_env.close()
    return spec
