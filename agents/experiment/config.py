"""The experiment config's schema: one typed dataclass per YAML section (:mod:`agents.experiment.loader` reads
YAML into them).

Every numeric field declares its valid range next to it (``ranged``, :mod:`agents.nets.config_values`), and a
section's ``_cross_checks`` names the key of a relation that does not hold (``training.minibatch_size: expected <=
training.train_batch_size_per_learner (2000), got 4000``); the loader applies both when the config is built. Each
algorithm's own hyper-parameters are a section of their own (:mod:`agents.experiment.algorithms`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..nets.config_values import (  # noqa: F401 - ConfigError, first_line: also imported from here
    ConfigError,
    first_line,
    ranged,
)
from ..nets.policy import PolicyConfig
from .algorithms import ALGORITHM_SECTIONS, APPOTrainingConfig, PPOTrainingConfig
from .plugins import plugin_problem


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


@dataclass
class TrainingConfig:
    """Hyper-parameters every algorithm has (RLlib's ``AlgorithmConfig.training`` names); an algorithm's own ones
    are in its section (``ppo``, ``appo``)."""

    lr: float = ranged(3e-4, gt=0)
    gamma: float = ranged(0.99, gt=0, le=1)
    train_batch_size_per_learner: int = ranged(2000, ge=1)
    minibatch_size: int = ranged(250, ge=1)
    """At most ``train_batch_size_per_learner``."""
    num_epochs: int = ranged(6, ge=1)
    grad_clip: float | None = ranged(0.5, gt=0)

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if self.minibatch_size > self.train_batch_size_per_learner:
            yield (
                "minibatch_size",
                (
                    f"expected <= training.train_batch_size_per_learner ({self.train_batch_size_per_learner}), "
                    f"got {self.minibatch_size}"
                ),
            )


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
    overlap: bool = False
    """The EnvRunners sample the next batch while the learner trains on this one (``max`` of the two per
    iteration, not their sum). PPO then samples one update behind (``agents.rllib.overlap``); APPO always
    overlaps (its own asynchronous sampling), with or without this key. Needs ``num_env_runners >= 1``."""

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if isinstance(self.rollout_fragment_length, str) and self.rollout_fragment_length != "auto":
            yield "rollout_fragment_length", f"expected 'auto' or an int >= 1, got {self.rollout_fragment_length!r}"
        if self.overlap and self.num_env_runners < 1:
            yield "overlap", "needs env_runners.num_env_runners >= 1 (EnvRunners that sample beside the learner), got 0"


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
    """``PPO`` | ``APPO`` (:data:`agents.experiment.algorithms.ALGORITHM_SECTIONS`); its own hyper-parameters are
    the section of the same name in lower case."""
    name: str = ""
    """Run name (default: the YAML file's stem); a plain file name (no path separator)."""
    seed: int = ranged(0, ge=0)
    env_config: dict = field(default_factory=dict)
    """Keyword arguments for the env constructor."""
    model: ModelConfig = field(default_factory=ModelConfig)
    plugins: list[str] = field(default_factory=list)
    """Modules to import before the module is built (``my_package.my_encoder``): user code that registers an
    encoder or heads. Imported when the config is built (an import error names ``plugins``) and wherever the
    RLModule is built: the driver, every EnvRunner and every learner (docs/custom_policy.md)."""
    training: TrainingConfig = field(default_factory=TrainingConfig)
    ppo: PPOTrainingConfig = field(default_factory=PPOTrainingConfig)
    """PPO's own hyper-parameters (read with ``algorithm: PPO``)."""
    appo: APPOTrainingConfig = field(default_factory=APPOTrainingConfig)
    """APPO's own hyper-parameters (read with ``algorithm: APPO``)."""
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

    def algorithm_section(self) -> Any:
        """The section of this experiment's algorithm (``self.ppo`` for PPO, ...)."""
        return getattr(self, ALGORITHM_SECTIONS[self.algorithm])

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        for name in self.plugins:  # first: a plugin may register the algorithm (docs/extending.md)
            problem = plugin_problem(name)
            if problem:
                yield "plugins", problem
        if self.algorithm not in ALGORITHM_SECTIONS:
            yield "algorithm", f"unknown algorithm {self.algorithm!r} (valid: {', '.join(ALGORITHM_SECTIONS)})"
        if "/" in self.name or "\\" in self.name or "\0" in self.name or self.name in (".", ".."):
            yield "name", f"expected a plain file name (no path separator), got {self.name!r}"
        for key in ("env", "runs_dir"):
            if not getattr(self, key).strip():
                yield key, "expected a non-empty string, got ''"
        if self.env_runners.overlap and self.algorithm not in ("PPO", "APPO"):
            yield "env_runners.overlap", f"PPO and APPO overlap sampling and learning, got algorithm {self.algorithm}"
        if self.algorithm == "APPO" and self.env_runners.rollout_fragment_length == "auto":
            yield (
                "env_runners.rollout_fragment_length",
                "expected an int >= 1 with algorithm APPO (RLlib's APPO has no 'auto'), got 'auto'",
            )
