"""ExperimentConfig -> RLlib AlgorithmConfig (new API stack), with registries instead of if-chains."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

import gymnasium as gym
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.appo import APPOConfig
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

import envs

from ..experiment.checkpoint import fitting_state
from ..experiment.config import ConfigError, ExperimentConfig, first_line
from ..experiment.plugins import env_module_problem, import_plugins, unknown_env, with_env_module
from .callbacks import InfoCounters
from .faults import register_rllib_env
from .overlap import OverlappedPPO, OverlappedPPOLearner

ALGORITHMS: dict[str, type[AlgorithmConfig]] = {"PPO": PPOConfig, "APPO": APPOConfig}
"""Algorithm name -> its RLlib config class; its hyper-parameters are ``training:`` and its own section
(``agents.experiment.algorithms.ALGORITHM_SECTIONS``: the config rejects a name that has none)."""
OVERLAPPED: dict[str, tuple[type, type]] = {"PPO": (OverlappedPPO, OverlappedPPOLearner)}
"""Algorithm name -> the RLlib algorithm and learner classes that ``env_runners.overlap`` selects (APPO overlaps as
it is)."""
TARGET_NETWORK_ALGORITHMS = frozenset({"APPO"})
"""Algorithms whose learner gives the module target networks (their weights are in its checkpoints)."""


def _alphastar_module():
    from .alphastar_module import AlphaStarRLModule

    return AlphaStarRLModule


# name -> (module class factory or None for RLlib's default MLP module, the observation keys it needs,
#          its config: the ``ModelConfig`` section that ``model_config[section]`` holds; RLlib's module: at the top).
# ``alphastar`` is the one policy family: structured SC2 envs and token envs (an entity list, the env's action space).
MODULES: dict[str, tuple] = {
    "alphastar": (_alphastar_module, ("entities", "entity_mask"), "policy"),
    "default": (None, (), "default"),
}


def make_env(env_id: str, env_config: dict, key: str = "env", plugins: Sequence[str] = ()) -> gym.Env:
    """``gym.make(env_id, **env_config)`` once ``plugins`` (and the module of a ``module:id`` ``env_id``) are imported;
    ``ConfigError`` naming ``key`` (the option or config key that gave the id) for a module that cannot be imported
    or an unknown id, ``env_config`` for rejected arguments, and the env's own reason otherwise."""
    envs.register_all()
    problem = env_module_problem(env_id)
    if problem:
        raise ConfigError(f"{key}: {problem}")
    env_id, plugins = with_env_module(env_id, plugins)
    import_plugins(plugins)
    if env_id not in gym.registry:
        raise unknown_env(key, env_id, plugins)
    try:
        return gym.make(env_id, **env_config)
    except TypeError as e:
        raise ConfigError(f"env_config: {env_id} rejected its arguments ({first_line(e)})") from None
    except (ValueError, RuntimeError, gym.error.Error) as e:  # e.g. StarCraft II not installed: names SC2PATH
        raise ConfigError(f"{key}: {env_id} could not be created: {first_line(e)}") from None


def check_env(cfg: ExperimentConfig) -> gym.Env:
    """Make the env once to check id, kwargs and that its observations fit ``model.module``."""
    env = make_env(cfg.env, cfg.env_config, plugins=cfg.plugins)
    if cfg.model.module not in MODULES:
        env.close()
        raise ConfigError(f"model.module: unknown module {cfg.model.module!r} (valid: {', '.join(MODULES)})")
    problem = observations_problem(cfg.model.module, env)
    if problem:
        env.close()
        raise ConfigError(f"model.module: {problem}")
    return env


def observations_problem(module: str, env: gym.Env) -> str | None:
    """Why ``env``'s observations do not fit the registered ``module`` (``MODULES``), or None."""
    needs = MODULES[module][1]
    keys = set(getattr(env.observation_space, "spaces", {}) or {})
    if needs and not set(needs) <= keys:
        name = env.spec.id if env.spec else type(env.unwrapped).__name__
        return f"{module!r} needs observations with {', '.join(needs)}; env {name} gives {sorted(keys) or env.observation_space}"
    return None


def module_spec(cfg: ExperimentConfig, env: gym.Env) -> RLModuleSpec:
    """The RLModuleSpec of ``cfg.model`` for ``env`` (made by ``check_env(cfg)``: its observations fit the module):
    the module class and a ``model_config`` holding ``model.max_seq_len``, the module's section of ``model:`` as a
    mapping and ``plugins`` (imported wherever the module is built), plus the env's structured observation / action
    contract where it has one (SC2-style envs; a token env's policy is built from its spaces). No spaces: RLlib
    fills them in from the env it samples."""
    factory, _, section = MODULES[cfg.model.module]
    options = dataclasses.asdict(getattr(cfg.model, section))
    if factory is None:  # RLlib's default MLP module reads its DefaultModelConfig keys at the top level
        return RLModuleSpec(model_config=options)
    model = {"max_seq_len": cfg.model.max_seq_len, section: options, "plugins": list(cfg.plugins)}
    try:
        contract = envs.contract_of(env)
    except ValueError:  # not one of our envs: an entity list of its own, built from its spaces
        contract = {}
    if "act_spec" in contract:  # the structured contract travels in model_config
        from .alphastar_module import contract_to_model_config

        model.update(contract_to_model_config(**contract))
    return RLModuleSpec(module_class=factory(), model_config=model)


def algorithm_config(cfg: ExperimentConfig) -> AlgorithmConfig:
    """Build the (PPO | APPO) AlgorithmConfig for ``cfg``; raises ConfigError naming a bad key."""
    if cfg.algorithm not in ALGORITHMS:  # a plugin may register a section without its RLlib class
        raise ConfigError(f"algorithm: unknown algorithm {cfg.algorithm!r} (valid: {', '.join(ALGORITHMS)})")
    env = check_env(cfg)
    try:
        spec = module_spec(cfg, env)
    finally:
        env.close()
    er = cfg.env_runners
    f = cfg.faults
    faulty = f.crash_at_step is not None or f.crash_prob > 0
    if faulty and f.kill_process and er.num_env_runners < 1:
        raise ConfigError("faults.kill_process: needs env_runners.num_env_runners >= 1 (it would kill the driver)")
    env_name = register_rllib_env(cfg.env, cfg.plugins, f if faulty else None)
    training = {**dataclasses.asdict(cfg.training), **dataclasses.asdict(cfg.algorithm_section())}
    try:  # RLlib's own consistency checks (some run in the builder calls, some in validate())
        return _rllib_config(cfg, env_name, spec, training)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{cfg.algorithm} config: {first_line(e)}") from None


def _rllib_config(cfg: ExperimentConfig, env_name: str, spec: RLModuleSpec, training: dict) -> AlgorithmConfig:
    er = cfg.env_runners
    algo_class, learner_class = OVERLAPPED.get(cfg.algorithm, (None, None)) if er.overlap else (None, None)
    config = (
        ALGORITHMS[cfg.algorithm](algo_class=algo_class)
        .environment(env_name, env_config=cfg.env_config)
        .framework("torch")
        .env_runners(
            num_env_runners=er.num_env_runners,
            num_envs_per_env_runner=er.num_envs_per_env_runner,
            rollout_fragment_length=er.rollout_fragment_length,
        )
        .learners(num_learners=0, **({"learner_class": learner_class} if learner_class else {}))
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
    config.validate()
    return config


_KEYED = re.compile(r"^[A-Za-z_][\w.]*: ")
"""A message that already starts with the config key it is about (``model.policy.encoder: unknown ...``)."""


def _module_spec(cfg: ExperimentConfig, env: gym.Env, config: AlgorithmConfig | None = None):
    """The RLModuleSpec that training uses, for ``env``'s spaces."""
    spec = (config or algorithm_config(cfg)).get_rl_module_spec(env=env.unwrapped)
    spec.observation_space, spec.action_space = env.observation_space, env.action_space
    return spec


def check_memory(cfg: ExperimentConfig, env: gym.Env, config: AlgorithmConfig | None = None) -> None:
    """``ConfigError`` naming ``model`` when training the module would need more memory than this machine has
    available: the module is built on PyTorch's ``meta`` device (shapes only, nothing allocated) and its weights
    counted four times on the learner (weights, gradients, Adam's two moments) and once per EnvRunner copy.
    A module that cannot be built on ``meta`` is left to the real build."""
    import torch

    from ..experiment.checkpoint import available_memory_bytes

    try:
        with torch.device("meta"):
            module = _module_spec(cfg, env, config).build()
    except Exception:  # the real build names the problem
        return
    weights = sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))
    needed = weights * (4 + cfg.env_runners.num_env_runners + 1)
    available = available_memory_bytes()
    if needed > available:
        gib = 1 << 30
        raise ConfigError(
            f"model: the {cfg.model.module} module has {weights / gib:.1f} GiB of weights; training it needs about "
            f"{needed / gib:.1f} GiB (weights, gradients, Adam's moments, one copy per EnvRunner), more than the "
            f"{available / gib:.1f} GiB this machine has available"
        )


def build_module(cfg: ExperimentConfig, env: gym.Env, config: AlgorithmConfig | None = None):
    """The experiment's RLModule for ``env``'s spaces, from the RLModuleSpec that training uses (no Ray cluster
    needed; its ``state_dict`` keys are those of the learner's module and of checkpoints). ``config``:
    ``algorithm_config(cfg)`` when the caller has it. A model the config cannot build (unknown encoder,
    widths that do not fit) raises ``ConfigError`` naming the key where the module's message does."""
    spec = _module_spec(cfg, env, config)
    try:
        return spec.build()
    except MemoryError as e:  # widths that each pass their bound but together do not fit this machine
        raise ConfigError(f"model: the {cfg.model.module} module does not fit in this machine's memory ({e})") from None
    except RuntimeError as e:
        if "can't allocate memory" not in str(e) and "out of memory" not in str(e):
            raise
        raise ConfigError(
            f"model: the {cfg.model.module} module does not fit in this machine's memory ({first_line(e)})"
        ) from None
    except (ValueError, TypeError, KeyError) as e:
        text = first_line(e)
        section = MODULES[cfg.model.module][2]
        if not _KEYED.match(text):
            text = f"model: the {cfg.model.module} module cannot be built ({text})"
        elif text.split(":", 1)[0] in {f.name for f in dataclasses.fields(getattr(cfg.model, section))}:
            text = f"model.{section}.{text}"  # the module's own config names the field without its section
        raise ConfigError(text) from None


def _registries() -> dict[str, Mapping[str, type]]:
    """Config keys that name a registered entry -> the names that resolve them. ``pretrain.demos`` is checked by
    ``pretrain`` (``agents.app.pretrain.demo_source``). ``heads`` names structured heads or action-space heads (the
    built-ins are both); building the module checks it against the kind the env's action needs."""
    from ..nets.encoders import ENTITY_ENCODERS
    from ..nets.heads import ACTION_SPACE_HEADS, HEAD_TORSOS

    return {"model.policy.encoder": ENTITY_ENCODERS, "model.policy.heads": {**HEAD_TORSOS, **ACTION_SPACE_HEADS}}


def check_choices(cfg: ExperimentConfig) -> None:
    """Every registry-backed key names a registered entry, also where this experiment does not read it (a
    typo there would otherwise be silently ignored)."""
    for key, registry in _registries().items():
        *sections, name = key.split(".")
        node = cfg
        for section in sections:
            node = getattr(node, section)
        value = getattr(node, name)
        if value not in registry:
            raise ConfigError(f"{key}: unknown {name} {value!r}, expected one of {sorted(registry)}")


def module_with_state(cfg: ExperimentConfig, env: gym.Env, state: dict, source: str, *, targets: bool = False):
    """``build_module(cfg, env)`` with ``state`` loaded, once ``checkpoint.fitting_state`` found it fits (keys,
    shapes, finite; ``CheckpointError`` naming ``source`` otherwise). The module's target networks are made
    (to recognise their keys); ``targets``: ``state`` must hold their weights too (resuming APPO)."""
    from ray.rllib.core.rl_module.apis import TargetNetworkAPI

    module = build_module(cfg, env)
    if isinstance(module, TargetNetworkAPI):
        module.make_target_networks()
    module.load_state_dict(fitting_state(module, state, source, targets=targets), strict=False)
    return module


def check_experiment(cfg: ExperimentConfig) -> AlgorithmConfig:
    """``algorithm_config(cfg)`` after building the experiment's module once: every check that needs no Ray
    cluster, so that ``train`` / ``pretrain`` fail with one ``ConfigError`` before anything is written."""
    check_choices(cfg)
    config = algorithm_config(cfg)
    env = make_env(cfg.env, cfg.env_config, plugins=cfg.plugins)
    try:
        check_memory(cfg, env, config)
        build_module(cfg, env, config)
    finally:
        env.close()
    return config
