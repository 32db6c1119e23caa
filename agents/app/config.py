"""Experiment configuration: typed dataclasses loaded from YAML (``yaml.safe_load`` only).

Unknown keys and wrong types are rejected with a :class:`ConfigError` naming the key, e.g.
``model.policy.entity_encoder.num_latents: expected int, got 'abc'``. ``--set a.b=c`` overrides are parsed
with YAML scalar rules and type-checked the same way. Every numeric field declares its valid range next to
it (``ranged``, :mod:`agents.nets.config_values`; floats must be finite), and a section's ``_cross_checks`` names
the key of a relation that does not hold (``training.minibatch_size: expected <= training.train_batch_size_per_learner
(2000), got 4000``), all when the config is built, before anything is written.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from ..nets.config_values import (  # noqa: F401 - ConfigError, first_line, Range, ranged: also imported from here
    ConfigError,
    NotFinite,
    Range,
    check_range,
    first_line,
    ranged,
    schedule_problems,
)
from ..nets.policy import PolicyConfig

_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


@dataclass
class DefaultModuleConfig:
    """RLlib's default MLP module (``model.module: default``): keys of RLlib's ``DefaultModelConfig``, passed to
    it as they are."""

    fcnet_hiddens: list[int] = ranged([128, 128], ge=1)
    """Widths of the hidden layers (tanh) of the policy and of the value network."""


@dataclass
class ModelConfig:
    """The RLModule: which one, and its architecture. Each module has its own typed config, one section here,
    handed to the module field for field: only the section of ``module`` is read."""

    module: str = "alphastar"
    """``alphastar`` (the policy family: structured SC2 envs, and token envs with their own action space;
    ``policy``) or ``default`` (RLlib's MLP; ``default``)."""
    max_seq_len: int = ranged(20, ge=1)
    """Length of the sequence chunks RLlib trains an LSTM core on (``policy.lstm``)."""
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    """``alphastar``: the policy (:class:`agents.nets.policy.PolicyConfig`)."""
    default: DefaultModuleConfig = field(default_factory=DefaultModuleConfig)
    """``default``: RLlib's MLP module."""


LEGACY_MODEL_KEYS = frozenset(
    {"encoder", "heads", "num_latents", "latent_channels", "num_self_attends", "num_heads", "hidden",
     "spatial_channels", "spatial_pool", "location_sigma", "lstm"}
)  # fmt: skip
"""``model:`` keys of the flat format before the sections (Nov 2026): a file with them has the old format."""


@dataclass
class TrainingConfig:
    """Algorithm hyper-parameters (RLlib names)."""

    lr: float = ranged(3e-4, gt=0)
    gamma: float = ranged(0.99, gt=0, le=1)
    lambda_: float = ranged(0.95, ge=0, le=1)
    train_batch_size_per_learner: int = ranged(2000, ge=1)
    minibatch_size: int = ranged(250, ge=1)
    """At most ``train_batch_size_per_learner``."""
    num_epochs: int = ranged(6, ge=1)
    entropy_coeff: float | list[list[float]] = ranged(0.0, ge=0)
    """A constant, or RLlib's schedule ``[[env_step, value], ...]`` (starts at step 0, linear in between)."""
    vf_loss_coeff: float = ranged(0.5, ge=0)
    clip_param: float = ranged(0.2, gt=0)
    grad_clip: float | None = ranged(0.5, gt=0)
    use_kl_loss: bool = False

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if self.minibatch_size > self.train_batch_size_per_learner:
            yield "minibatch_size", (
                f"expected <= training.train_batch_size_per_learner ({self.train_batch_size_per_learner}), "
                f"got {self.minibatch_size}"
            )
        if isinstance(self.entropy_coeff, list):
            yield from schedule_problems("entropy_coeff", self.entropy_coeff)


@dataclass
class EnvRunnerConfig:
    """Rollout workers."""

    num_env_runners: int = ranged(0, ge=0)
    """0 samples in the driver process; use 1 on a 2-core machine (a Tune-free run needs no extra CPU)."""
    num_envs_per_env_runner: int = ranged(1, ge=1)
    rollout_fragment_length: int | str = ranged("auto", ge=1)
    """``auto`` or steps per rollout fragment (>= 1)."""
    restart_failed_env_runners: bool = True
    """Restart an EnvRunner whose env crashed (SC2 processes do), instead of failing the run."""
    max_num_env_runner_restarts: int = ranged(1000, ge=0)
    restart_failed_sub_environments: bool = True
    """Restart a crashed sub-environment inside its EnvRunner (the episode is dropped, the run goes on)."""

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if isinstance(self.rollout_fragment_length, str) and self.rollout_fragment_length != "auto":
            yield "rollout_fragment_length", f"expected 'auto' or an int >= 1, got {self.rollout_fragment_length!r}"


@dataclass
class StopConfig:
    """Stop at the first criterion met (``None`` = not used)."""

    env_steps: int | None = ranged(100_000, ge=1)
    iterations: int | None = ranged(None, ge=1)
    mean_return: float | None = None
    time_s: float | None = ranged(None, gt=0)
    """Wall-clock budget of this process's training loop (seconds)."""


@dataclass
class FaultConfig:
    """Injected failures, for testing fault tolerance (off by default)."""

    crash_at_step: int | None = ranged(None, ge=1)
    """Every env instance raises after this many steps (RLlib then recreates it)."""
    crash_prob: float = ranged(0.0, ge=0, le=1)
    """Per-step probability that the env raises."""
    kill_process: bool = False
    """Instead of raising, end the EnvRunner process (needs ``env_runners.num_env_runners >= 1``)."""
    seed: int = ranged(0, ge=0)


@dataclass
class PretrainConfig:
    """Supervised pretraining (``perceiver-rl pretrain``): behaviour cloning of demonstrations, as AlphaStar
    does before RL. Used only by ``pretrain``; ``train --init-from`` fine-tunes the result."""

    demos: str = "scripted"
    """Demonstration source (``agents.app.pretrain.DEMO_SOURCES``): ``scripted`` = the minigame's scripted agent."""
    episodes: int = ranged(20, ge=1)
    """Demonstration episodes, played on seeds ``seed``, ``seed + 1``, ..."""
    epochs: int = ranged(10, ge=1)
    """Passes over the demonstrations."""
    lr: float = ranged(1e-3, gt=0)
    """Adam learning rate."""
    minibatch_size: int = ranged(256, ge=1)
    """Steps per gradient step (LSTM policies: whole episodes, ``minibatch_size // episode length`` of them)."""
    value_loss_coeff: float = ranged(0.5, ge=0)
    """Weight of the value head's squared error to the demos' discounted returns (gamma = ``training.gamma``),
    so that fine-tuning does not start from a random critic; 0 leaves the value head alone."""
    grad_clip: float | None = ranged(1.0, gt=0)
    """Global gradient-norm clip (None: off)."""


@dataclass
class ExperimentConfig:
    """One runnable experiment (one YAML file)."""

    env: str = "perceiver_rl/Tokens-CartPole-v1"
    """A registered env id (``perceiver-rl list``) or any gymnasium id."""
    algorithm: str = "PPO"
    """``PPO`` | ``APPO``."""
    name: str = ""
    """Run name (default: the YAML file's stem); a plain file name (no path separator)."""
    seed: int = ranged(0, ge=0)
    env_config: dict = field(default_factory=dict)
    """Keyword arguments for the env constructor."""
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    env_runners: EnvRunnerConfig = field(default_factory=EnvRunnerConfig)
    stop: StopConfig = field(default_factory=StopConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    checkpoint_every: int = ranged(5, ge=1)
    """Checkpoint every k iterations (and always at the end)."""
    evaluation_episodes: int = ranged(10, ge=1)
    """Episodes run by ``make demo`` style evaluation after training."""
    runs_dir: str = "runs"
    """Where run directories are created (``<runs_dir>/<name>-<timestamp>``)."""
    torch_threads: int = ranged(1, ge=1)
    """torch intra-op threads of the training process (learner, and sampling when ``num_env_runners`` is 0).
    More than 1 pays only for big minibatches on otherwise idle cores: with another busy process on a 2-core
    machine, OpenMP barriers stalled a batch-16 action from 35 ms (1 thread) to 1.1 s (2 threads)."""

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if "/" in self.name or "\\" in self.name or "\0" in self.name or self.name in (".", ".."):
            yield "name", f"expected a plain file name (no path separator), got {self.name!r}"
        for key in ("env", "runs_dir"):
            if not getattr(self, key).strip():
                yield key, "expected a non-empty string, got ''"
        if self.algorithm == "APPO" and self.env_runners.rollout_fragment_length == "auto":
            yield "env_runners.rollout_fragment_length", "expected an int >= 1 with algorithm APPO (RLlib's APPO has no 'auto'), got 'auto'"


# ----------------------------------------------------------------------------------------------- loading


def _check_type(path: str, tp: Any, value: Any) -> Any:
    """Return ``value`` converted to ``tp`` or raise ``ConfigError`` naming ``path``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check_type(path, a, value)
            except NotFinite:  # the right type, a value no member accepts (NaN, inf): say so
                raise
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{path}: expected {_type_name(tp)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return _build(tp, value, path + ".")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_check_type(f"{path}[{i}]", item, v) for i, v in enumerate(value)]
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value) if abs(value) < 1e308 else math.inf
        elif isinstance(value, str) and _FLOAT.match(value):  # YAML 1.1 reads 3e-4 (no dot) as a string
            number = float(value)
        if number is not None:
            if not math.isfinite(number):
                raise NotFinite(f"{path}: expected a finite float, got {str(value)[:40]}")
            return number
    elif tp is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"{path}: expected {_type_name(tp)}, got {value!r}")


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _build(cls: type, data: dict, prefix: str = "") -> Any:
    """``cls(**data)`` with every key known, every value of its field's type and range, and the class's
    ``_cross_checks`` (relations between fields) passed; ``ConfigError`` naming the first bad key otherwise."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(f"{prefix}{key}: unknown key (valid: {', '.join(sorted(fields))})")
    values = {}
    for key, raw in data.items():
        values[key] = _check_type(prefix + key, hints[key], raw)
        if "range" in fields[key].metadata:
            check_range(prefix + key, fields[key].metadata["range"], values[key])
    obj = cls(**values)
    for key, problem in getattr(obj, "_cross_checks", lambda: ())():
        raise ConfigError(f"{prefix}{key}: {problem}")
    return obj


def config_from_dict(data: dict, cls: type = ExperimentConfig) -> Any:
    """The typed, checked ``cls`` (an ``ExperimentConfig`` or one of its sections) of a plain mapping, e.g. a
    section that travelled to an RLModule as ``dataclasses.asdict``; ``ConfigError`` naming the first bad key."""
    return _build(cls, data)


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item}: expected KEY=VALUE (e.g. training.lr=1e-3)")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {key}: cannot parse value {raw!r}: {e}") from None
    return key.split("."), value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b=c`` overrides to the raw YAML mapping (types are checked when the config is built)."""
    for item in overrides:
        keys, value = _parse_override(item)
        node = data
        for i, k in enumerate(keys[:-1]):
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {'.'.join(keys)}: {'.'.join(keys[: i + 1])} is not a mapping")
        node[keys[-1]] = value
    return data


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> dict:
    """``yaml.safe_load`` of ``path``; a top-level ``base: other.yaml`` (relative to ``path``) is read first
    and this file's keys are merged over it."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0]
        raise ConfigError(f"{path}: not valid safe YAML ({first})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    _check_model_format(path, data.get("model"))
    if "base" in data:
        base = (path.parent / str(data.pop("base"))).resolve()
        if base in _seen:
            raise ConfigError(f"{path}: base: circular reference to {base}")
        data = _merge(read_yaml(base, _seen + (path.resolve(),)), data)
    return data


def _check_model_format(path: Path, model: Any) -> None:
    """``ConfigError`` naming ``path`` when its ``model:`` section has a format from before Nov 2026: the flat keys,
    or the token envs' ``perceiver`` module with its ``token_net`` section (one line; exit 2 in the CLI)."""
    if not isinstance(model, dict):
        return
    legacy = sorted(LEGACY_MODEL_KEYS & set(model))
    if legacy:
        more = f" (+{len(legacy) - 3} more)" if len(legacy) > 3 else ""
        raise ConfigError(
            f"{path}: model: the config format changed (Nov 2026): {', '.join(legacy[:3])}{more} of the flat model "
            "section now live in model.policy (alphastar) or model.default; rewrite the section as docs/cli.md shows"
        )
    if model.get("module") == "perceiver" or "token_net" in model:  # the token envs' own module before Nov 2026
        raise ConfigError(
            f"{path}: model: the config format changed (Nov 2026): module perceiver and its model.token_net section "
            "are gone; token envs use module alphastar with a model.policy section (rewrite it as docs/cli.md shows)"
        )


def load_saved_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """A run directory's resolved ``config.yaml``, then ``overrides``: a problem of the file itself names the
    file (``runs/x/config.yaml: training.lr: ...``), one of an override its key."""
    path = Path(path)
    data = _saved_before_perceiver_widening(read_yaml(path))
    try:
        config_from_dict(data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    return config_from_dict(apply_overrides(data, overrides or []))


def _saved_before_perceiver_widening(data: dict) -> dict:
    """A run saved before the Perceiver had its own MLP widenings (Dec 2026) built both its cross- and latent
    self-attention MLPs with ``entity_encoder.widening_factor``: its saved section (every field written) has no
    ``self_attention_widening_factor``. Give it the widths it was trained with, so that it resumes / evaluates."""
    encoder = ((data.get("model") or {}).get("policy") or {}).get("entity_encoder")
    if isinstance(encoder, dict) and "widening_factor" in encoder and "self_attention_widening_factor" not in encoder:
        for key in ("cross_attention_widening_factor", "self_attention_widening_factor"):
            encoder.setdefault(key, encoder["widening_factor"])
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read ``path`` (and its ``base:`` chain) with ``yaml.safe_load``, apply ``overrides``, build the typed config."""
    path = Path(path)
    data = apply_overrides(read_yaml(path), overrides or [])
    data.setdefault("name", path.stem)
    return config_from_dict(data)

