"""Our RLModules in a plain RLlib script: :func:`perceiver_module_spec` gives the ``RLModuleSpec`` for an env and
the ``model:`` keys of an experiment YAML (docs/rllib.md)::

    import envs
    from ray.rllib.algorithms.ppo import PPOConfig
    from agents.rllib import perceiver_module_spec

    env, env_config = "perceiver_rl/Sim-MoveToBeacon-v0", {"spatial_size": 32}
    spec = perceiver_module_spec(env, {"module": "alphastar", "policy": {"encoder": "perceiver"}}, env_config)
    algo = PPOConfig().environment(env, env_config=env_config).rl_module(rl_module_spec=spec).build_algo()
    algo.train()

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

__all__ = ["InfoCounters", "experiment_config", "perceiver_module_spec"]


def experiment_config(
    env: str,
    model: Mapping[str, Any] | ModelConfig | None = None,
    env_config: Mapping[str, Any] | None = None,
    algorithm: str = "PPO",
    plugins: Sequence[str] = (),
) -> ExperimentConfig:
    """The typed experiment of ``env`` with ``model`` (the keys of a YAML ``model:`` section, or a ``ModelConfig``)
    and ``plugins``, type- and range-checked as the YAML is; ``ConfigError`` (a ``ValueError``) naming the key
    otherwise (``model.num_heads: expected a divisor of model.latent_channels (64), got 3``)."""
    if isinstance(model, ModelConfig):
        model = dataclasses.asdict(model)
    return config_from_dict({"env": env, "algorithm": algorithm, "env_config": dict(env_config or {}),
                             "model": dict(model or {}), "plugins": list(plugins)})  # fmt: skip


def perceiver_module_spec(
    env: str,
    model: Mapping[str, Any] | ModelConfig | None = None,
    env_config: Mapping[str, Any] | None = None,
    *,
    plugins: Sequence[str] = (),
) -> RLModuleSpec:
    """The ``RLModuleSpec`` that ``perceiver-rl train`` would give RLlib for ``env`` and ``model``, for
    ``AlgorithmConfig.rl_module(rl_module_spec=...)`` of PPO or APPO.

    ``env``: an id of ``perceiver-rl list`` (registered with gymnasium and RLlib's registry by this call) or any
    gymnasium id; ``env_config``: its keyword arguments, the same as given to ``.environment()`` (an SC2-style
    env's observation / action contract is read from the env they make). ``model``: the keys of an experiment
    YAML's ``model:`` section (``module``: ``alphastar``, the policy family of SC2-style and token envs, or
    ``default`` for RLlib's MLP; ``policy``: ``encoder``, ``heads``, widths, ``lstm`` ...); missing keys take their
    defaults. ``plugins``: modules that register the user's encoders or heads (the YAML's ``plugins:``), imported
    now and in every EnvRunner and learner that builds the module.

    The env is made once and the module built once, so that every mistake a config can make (unknown key or
    name, out-of-range value, an env whose observations do not fit the module, a model that cannot be built)
    raises ``ConfigError`` naming it here, not later inside an EnvRunner.
    """
    cfg = experiment_config(env, model, env_config, plugins=plugins)
    check_choices(cfg)
    envs.register_all()  # the RLlib names too: EnvRunner processes look the ids up there
    gym_env = check_env(cfg)
    try:
        spec = module_spec(cfg, gym_env)
        build_module(cfg, gym_env, ALGORITHMS[cfg.algorithm]().rl_module(rl_module_spec=spec))
    finally:
        gym_env.close()
    return spec
