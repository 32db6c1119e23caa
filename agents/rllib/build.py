"""ExperimentConfig -> RLlib AlgorithmConfig (new API stack), with registries instead of if-chains."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.appo import APPOConfig
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

import envs

from ..config import ConfigError, ExperimentConfig
from .callbacks import InfoCounters
from .faults import register_faulty_env
from .token_module import PerceiverRLModule

ALGORITHMS: dict[str, type[AlgorithmConfig]] = {"PPO": PPOConfig, "APPO": APPOConfig}


def _alphastar_module():
    from .alphastar_module import AlphaStarRLModule

    return AlphaStarRLModule


# name -> (module class factory or None for RLlib's default MLP module, the observation keys it needs)
MODULES: dict[str, tuple] = {
    "perceiver": (lambda: PerceiverRLModule, ("tokens", "token_mask")),
    "alphastar": (_alphastar_module, ("entities", "entity_mask", "action_type_mask")),
    "default": (None, ()),
}


def check_env(cfg: ExperimentConfig) -> gym.Env:
    """Make the env once to check id, kwargs and that its observations fit ``model.module``."""
    envs.register_all()
    if cfg.env not in gym.registry:
        raise ConfigError(f"env: unknown environment {cfg.env!r} (`perceiver-rl list` shows the registered ids)")
    try:
        env = gym.make(cfg.env, **cfg.env_config)
    except TypeError as e:
        raise ConfigError(f"env_config: {cfg.env} rejected its arguments ({e})") from None
    except (ValueError, RuntimeError) as e:  # e.g. StarCraft II not installed: the message names SC2PATH
        raise ConfigError(f"env: {cfg.env} could not be created: {e}") from None
    if cfg.model.module not in MODULES:
        raise ConfigError(f"model.module: unknown module {cfg.model.module!r} (valid: {', '.join(MODULES)})")
    needs = MODULES[cfg.model.module][1]
    keys = set(getattr(env.observation_space, "spaces", {}) or {})
    if needs and not set(needs) <= keys:
        env.close()
        raise ConfigError(
            f"model.module: {cfg.model.module!r} needs observations with {', '.join(needs)}; env {cfg.env} gives "
            f"{sorted(keys) or env.observation_space}"
        )
    return env


def algorithm_config(cfg: ExperimentConfig) -> AlgorithmConfig:
    """Build the (PPO | APPO) AlgorithmConfig for ``cfg``; raises ConfigError naming a bad key."""
    if cfg.algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm: unknown algorithm {cfg.algorithm!r} (valid: {', '.join(ALGORITHMS)})")
    env = check_env(cfg)
    model = dataclasses.asdict(cfg.model)
    if cfg.model.module == "alphastar":  # the structured contract travels in model_config
        from .alphastar_module import contract_to_model_config

        model.update(contract_to_model_config(**envs.contract_of(env)))
    env.close()
    er = cfg.env_runners
    env_name = cfg.env
    f = cfg.faults
    if f.crash_at_step is not None or f.crash_prob > 0:
        if f.kill_process and er.num_env_runners < 1:
            raise ConfigError("faults.kill_process: needs env_runners.num_env_runners >= 1 (it would kill the driver)")
        env_name = register_faulty_env(cfg.env, f)
    factory = MODULES[cfg.model.module][0]
    if factory is None:  # RLlib's default MLP module: fcnet widths from model.hidden
        spec = RLModuleSpec(model_config={"fcnet_hiddens": [cfg.model.hidden, cfg.model.hidden], "fcnet_activation": "tanh",
                                          "vf_share_layers": False})
    else:
        spec = RLModuleSpec(module_class=factory(), model_config=model)
    training = dataclasses.asdict(cfg.training)
    config = (
        ALGORITHMS[cfg.algorithm]()
        .environment(env_name, env_config=cfg.env_config)
        .framework("torch")
        .env_runners(
            num_env_runners=er.num_env_runners,
            num_envs_per_env_runner=er.num_envs_per_env_runner,
            rollout_fragment_length=er.rollout_fragment_length,
        )
        .learners(num_learners=0)
        .training(**training)
        .rl_module(rl_module_spec=spec)
        .fault_tolerance(
            restart_failed_env_runners=er.restart_failed_env_runners,
            max_num_env_runner_restarts=er.max_num_env_runner_restarts,
            restart_failed_sub_environments=er.restart_failed_sub_environments,
            delay_between_env_runner_restarts_s=1.0,
        )
        .callbacks(InfoCounters)
        .debugging(seed=cfg.seed, log_level="ERROR")
    )
    try:
        config.validate()
    except (ValueError, TypeError) as e:  # RLlib's own consistency checks, e.g. minibatch_size > train batch
        raise ConfigError(f"training: {str(e).splitlines()[0]}") from None
    return config


def build_module(cfg: ExperimentConfig, env: gym.Env):
    """The experiment's RLModule for ``env``'s spaces, from the RLModuleSpec that training uses (no Ray cluster
    needed; its ``state_dict`` keys are those of the learner's module and of checkpoints)."""
    spec = algorithm_config(cfg).get_rl_module_spec(env=env.unwrapped)
    spec.observation_space, spec.action_space = env.observation_space, env.action_space
    return spec.build()
