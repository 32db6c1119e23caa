"""Checkpoints across the two worlds: a ``perceiver-rl`` run directory into RLlib, and back.

* :func:`rl_module_from_run` / :func:`algorithm_from_run`: a run directory written by ``perceiver-rl train`` (or
  ``pretrain``, or :func:`save_run`) -> an RLlib ``RLModule`` with its weights, or an ``Algorithm`` (the run's
  config, or one of the caller's) whose learners and EnvRunners hold them.
* :func:`load_module`: the module of a run directory for a given env (``perceiver-rl evaluate``'s).
* :func:`save_run`: an ``Algorithm`` or ``RLModule`` of a user's own RLlib script (modules from
  ``perceiver_module_spec``) -> a run directory in our layout (``config.yaml`` + ``checkpoints/``), which
  ``perceiver-rl evaluate`` plays and ``perceiver-rl train --init-from`` fine-tunes.

Weights travel as safetensors, checked (keys, shapes, finite) against the module they load into; nothing is
unpickled. The optimizer state stays behind both ways (``perceiver-rl train --resume`` continues a run with it).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME

from ..experiment.algorithms import ALGORITHM_SECTIONS
from ..experiment.checkpoint import Counters, fitting_state, load_checkpoint, resolve_checkpoint, save_checkpoint
from ..experiment.config import ConfigError, EnvRunnerConfig, ExperimentConfig, ModelConfig, TrainingConfig
from ..experiment.loader import config_from_dict
from ..experiment.run_dir import check_runs_dir, load_run_config, new_run_dir
from .build import ALGORITHMS, MODULES, algorithm_config, make_env, module_with_state
from .faults import env_id_of, plugins_of
from .user_env import UserEnv, factory_id

__all__ = [
    "algorithm_from_run",
    "load_module",
    "load_module_weights",
    "rl_module_from_run",
    "run_algorithm_config",
    "save_run",
]


def load_module(checkpoint: str | Path, env: gym.Env) -> RLModule:
    """The run's RLModule for ``env``'s spaces with the checkpoint's weights (checked: keys, shapes, finite), in
    eval mode; ``checkpoint``: a run or checkpoint directory."""
    ckpt = resolve_checkpoint(checkpoint)
    cfg = load_run_config(ckpt)
    _, state, _ = load_checkpoint(ckpt)
    return module_with_state(cfg, env, state, f"{ckpt} (for {env.spec.id if env.spec else 'this env'})").eval()


def rl_module_from_run(run_dir: str | Path) -> RLModule:
    """The run's RLModule (built from its ``config.yaml`` for its env's spaces) with the weights of its latest
    checkpoint (``run_dir`` may also be one checkpoint directory), in eval mode; ``ConfigError`` naming the file
    or key that does not fit."""
    ckpt = resolve_checkpoint(run_dir)
    cfg = load_run_config(ckpt)
    env = make_env(cfg.env, cfg.env_config, plugins=cfg.plugins)
    try:
        return load_module(ckpt, env)
    finally:
        env.close()


def run_algorithm_config(run_dir: str | Path) -> AlgorithmConfig:
    """The RLlib ``AlgorithmConfig`` that ``perceiver-rl train`` builds from the run's ``config.yaml`` (env, module,
    hyper-parameters), to adjust with RLlib's own calls before :func:`algorithm_from_run`."""
    return algorithm_config(load_run_config(resolve_checkpoint(run_dir)))


def load_module_weights(algo: Algorithm, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Module weights ``state`` into every learner of ``algo`` (checked: keys, shapes, finite; ``CheckpointError``
    naming ``source``), target networks (APPO) as copies of the online ones when ``state`` has none of their
    own, then into the EnvRunners."""

    def load(learner) -> None:
        module = learner.module[DEFAULT_MODULE_ID]
        fitting = fitting_state(module, state, source)
        module.load_state_dict(fitting, strict=False)
        if len(fitting) < len(module.state_dict()):
            for online, target in module.get_target_network_pairs():
                target.load_state_dict(online.state_dict())

    for result in algo.learner_group.foreach_learner(load):
        if not result.ok:
            raise result.get()
    algo.env_runner_group.sync_weights(from_worker_or_learner_group=algo.learner_group, inference_only=True)


def algorithm_from_run(run_dir: str | Path, config: AlgorithmConfig | None = None) -> Algorithm:
    """An RLlib ``Algorithm`` built from ``config`` (default: :func:`run_algorithm_config`) whose learners and
    EnvRunners hold the weights of the run's latest checkpoint. Counters and optimizer state start fresh. Weights
    that do not fit ``config``'s module raise ``CheckpointError`` (the Algorithm is stopped first)."""
    ckpt = resolve_checkpoint(run_dir)
    state = load_checkpoint(ckpt)[1]
    algo = (config or run_algorithm_config(ckpt)).build_algo()
    try:
        load_module_weights(algo, state, str(ckpt))
    except Exception:
        algo.stop()
        raise
    return algo


def _module_name(module_class: type) -> str:
    """The ``model.module`` name of one of our RLModule classes (``build.MODULES``), or of RLlib's default module of
    an algorithm of ``build.ALGORITHMS`` (``default``); ``ConfigError`` otherwise."""
    ours = {entry[0](): name for name, entry in MODULES.items() if entry[0] is not None}
    if module_class in ours:
        return ours[module_class]
    default = next(name for name, entry in MODULES.items() if entry[0] is None)
    if module_class in _default_module_classes():  # exactly: a subclass of it is another network
        return default
    names = ", ".join([*(f"{name}: {cls.__name__}" for cls, name in ours.items()), f"{default}: RLlib's default"])
    raise ConfigError(
        f"save_run: {module_class.__name__} is not a perceiver_rl module ({names}; from perceiver_module_spec)"
    )


def _default_module_classes() -> list[type]:
    """RLlib's default RLModule classes of the algorithms of ``build.ALGORITHMS`` (``model.module: default``)."""
    classes = []
    for config_class in ALGORITHMS.values():
        try:
            module_class = config_class().get_default_rl_module_spec().module_class
        except Exception:  # an algorithm a plugin added, without a default module
            continue
        if isinstance(module_class, type):
            classes.append(module_class)
    return classes


def _rllib_model_defaults() -> dict[str, Any]:
    """RLlib's ``DefaultModelConfig`` as a mapping: what its default module takes for a key it was not given."""
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return dataclasses.asdict(DefaultModelConfig())


def _plain(value: Any) -> Any:
    """``value`` with tuples as lists (RLlib keeps some model_config lists as tuples; YAML reads lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _module_keys(module_class: type, module_config: Mapping[str, Any]) -> dict:
    """The config keys a module of ``module_class`` was built from: ``model:`` (its name, and the ``ModelConfig``
    keys that ``build.module_spec`` put into its ``model_config``: our module's sections, or RLlib's default
    module's section keys at the top; RLlib's own keys and the env contract left out) and ``plugins``."""
    name = _module_name(module_class)
    factory, _, section = MODULES[name]
    if factory is None:  # RLlib's module: a key it was not given is DefaultModelConfig's
        defaults = _rllib_model_defaults()
        keys = [f.name for f in dataclasses.fields(type(getattr(ModelConfig(), section)))]
        values = {k: _plain(module_config.get(k, defaults.get(k))) for k in keys}
        model = {"module": name, section: {k: v for k, v in values.items() if v is not None}}
    else:
        fields = [f.name for f in dataclasses.fields(ModelConfig) if f.name in module_config and f.name != "module"]
        model = {"module": name, **{field: module_config[field] for field in fields}}
    return {"model": model, "plugins": list(module_config.get("plugins", []))}


def _check_expressed(module_config: Mapping[str, Any], rebuilt: Mapping[str, Any], module: str) -> None:
    """``ConfigError`` when RLlib's default module was built with a ``DefaultModelConfig`` key (``fcnet_activation:
    relu``, say) that ``model.default`` cannot express: rebuilt from ``config.yaml`` it would be another network
    (the weights might even fit)."""
    if MODULES[module][0] is not None:
        return
    for key, default in _rllib_model_defaults().items():
        given, built = _plain(module_config.get(key, default)), _plain(rebuilt.get(key, default))
        if given != built:
            section = MODULES[module][2]
            keys = ", ".join(f.name for f in dataclasses.fields(type(getattr(ModelConfig(), section))))
            raise ConfigError(
                f"save_run: model_config.{key}: {given!r} cannot be written to config.yaml (model.{section} has "
                f"{keys}); rebuilt from it the module would have {built!r}"
            )


def _learner_module(learner) -> tuple[type, dict]:
    module = learner.module[DEFAULT_MODULE_ID]
    return type(module), dict(module.model_config or {})


_COPIED = {
    "training": TrainingConfig,
    "env_runners": EnvRunnerConfig,
    **{section: typing.get_type_hints(ExperimentConfig)[section] for section in ALGORITHM_SECTIONS.values()},
}
"""Sections whose keys have RLlib's names: ``save_run`` reads them from the Algorithm's config (an algorithm's own
section only for that algorithm)."""


def _hyper_parameters(algo_config: AlgorithmConfig, algorithm: str) -> dict:
    """Our ``training`` / ``env_runners`` / ``algorithm``'s section keys (and ``seed``) that ``algo_config`` has, by
    their RLlib names."""
    sections = {"training", "env_runners", ALGORITHM_SECTIONS.get(algorithm)}
    data = {section: {f.name: getattr(algo_config, f.name) for f in dataclasses.fields(cls)
                      if getattr(algo_config, f.name, None) is not None}
            for section, cls in _COPIED.items() if section in sections}  # fmt: skip
    return {**data, **({"seed": algo_config.seed} if algo_config.seed is not None else {})}


def _expressible(data: dict) -> ExperimentConfig:
    """``config_from_dict(data)``, leaving out the copied hyper-parameters our config cannot express (an RLlib
    learning-rate schedule, a value outside our ranges, ...): each one an error names is dropped for its default."""
    while True:
        try:
            return config_from_dict(data)
        except ConfigError as e:
            path = re.split(r"[:\[]", str(e), maxsplit=1)[0].split(".")
            section = data.get(path[0]) if path[0] in _COPIED else None
            if path[0] == "seed" and "seed" in data:
                del data["seed"]
            elif isinstance(section, dict) and len(path) > 1 and path[1] in section:
                del section[path[1]]
            else:
                raise


def _env_name(env: Any) -> Any:
    """The env id a run records for ``env`` (an RLlib env name or a user's class / creator); other values as given."""
    if isinstance(env, str):
        return env_id_of(env)  # not the RLlib name that imports plugins / injects faults
    if isinstance(env, type) or callable(env):
        return factory_id(env)  # registered with gymnasium in this process
    return env


def _source(
    obj: Algorithm | RLModule, env: UserEnv | None, env_config: Mapping[str, Any] | None, algorithm: str | None
):
    """(config keys: ``model``, ``plugins``, ``algorithm`` and an Algorithm's hyper-parameters; the module's
    ``model_config``; weights; env id; env_config; counters) of an Algorithm or an RLModule."""
    if isinstance(obj, Algorithm):
        (state,) = obj.learner_group.get_weights([DEFAULT_MODULE_ID]).values()
        (described,) = obj.learner_group.foreach_learner(_learner_module)
        module_class, module_config = described.get()
        steps = obj.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)
        counters = Counters(iteration=obj.iteration or 0, env_steps=int(steps))
        keys = _module_keys(module_class, module_config)
        keys["plugins"] = list(dict.fromkeys([*keys["plugins"], *plugins_of(obj.config.env)]))  # the env's too
        env = _env_name(env or obj.config.env)
        env_config = dict(obj.config.env_config) if env_config is None else env_config
        algorithm = algorithm or type(obj).__name__
        data = {**keys, "algorithm": algorithm, **_hyper_parameters(obj.config, algorithm)}
        return data, module_config, state, env, env_config, counters
    if isinstance(obj, RLModule):
        if env is None:
            raise ConfigError("save_run: env: required with an RLModule (the env id it was trained on)")
        module_config = dict(obj.model_config or {})
        keys = _module_keys(type(obj), module_config)
        keys["plugins"] = list(dict.fromkeys([*keys["plugins"], *plugins_of(env)]))
        data = {**keys, "algorithm": algorithm or "PPO"}
        return data, module_config, obj.state_dict(), _env_name(env), env_config, Counters()
    raise ConfigError(f"save_run: expected an RLlib Algorithm or RLModule, got {type(obj).__name__}")


def save_run(
    obj: Algorithm | RLModule,
    runs_dir: str | Path = "runs",
    name: str = "rllib",
    *,
    env: UserEnv | None = None,
    env_config: Mapping[str, Any] | None = None,
    algorithm: str | None = None,
) -> Path:
    """Write the weights of ``obj`` (an ``Algorithm``: its learner's module; or an ``RLModule``) as a new run
    directory ``<runs_dir>/<name>-<timestamp>`` in our layout, for ``perceiver-rl evaluate`` / ``train
    --init-from``; returns it. The module must come from ``perceiver_module_spec`` (its ``model_config`` holds
    the ``model:`` keys and ``plugins``; RLlib's default module is ``model.module: default``). ``env`` /
    ``env_config`` / ``algorithm`` default to the Algorithm's (an RLModule needs ``env``; a class or creator is
    recorded as its ``user_env/...`` id, which only a process that registers it again can make); the plugins of
    an env registered by ``perceiver_module_spec`` / ``register_user_env`` go into ``plugins``; an Algorithm's
    ``training`` / ``env_runners`` / algorithm-section hyper-parameters and seed go into ``config.yaml`` where our
    config can express them (the others keep their defaults), RLlib's default module's ``DefaultModelConfig`` keys
    only where ``model.default`` has them (another value is a ``ConfigError``). Everything is checked (the config,
    the weights against the module it rebuilds) before anything is written; ``ConfigError`` naming the culprit
    otherwise."""
    data, module_config, state, env, env_config, counters = _source(obj, env, env_config, algorithm)
    if not isinstance(env, str):
        raise ConfigError(f"save_run: env: expected a registered env id, got {env!r}")
    cfg = _expressible(
        {**data, "env": env, "env_config": dict(env_config or {}), "name": name, "runs_dir": str(runs_dir)}
    )
    state = {
        k: v.detach().clone() if isinstance(v, torch.Tensor) else torch.from_numpy(np.array(v))
        for k, v in state.items()
    }
    gym_env = make_env(cfg.env, cfg.env_config, plugins=cfg.plugins)
    try:
        rebuilt = module_with_state(cfg, gym_env, state, f"save_run({type(obj).__name__})")
    finally:
        gym_env.close()
    _check_expressed(module_config, rebuilt.model_config or {}, cfg.model.module)
    check_runs_dir(cfg)
    run_dir = new_run_dir(cfg)
    save_checkpoint(run_dir, counters, state, {})
    return run_dir
