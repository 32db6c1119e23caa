"""The experiment config's schema: one typed dataclass per YAML section (:mod:`agents.experiment.loader` reads
YAML into them).

Every numeric field declares its valid range next to it (``ranged``, :mod:`agents.nets.config_values`), and a
section's ``_cross_checks`` names the key of a relation that does not hold (``training.minibatch_size: expected <=
training.train_batch_size_per_learner (2000), got 4000``); the loader applies both when the config is built. Each
algorithm's own hyper-parameters are a section of their own (:mod:`agents.experiment.algorithms`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..nets.config_values import (  # noqa: F401 - ConfigError, first_line: also imported from here
    MAX_LAYERS,
    MAX_MAP_SIDE,
    MAX_WIDTH,
    ConfigError,
    Range,
    first_line,
    ranged,
)
from ..nets.policy import PolicyConfig
from .algorithms import ALGORITHM_SECTIONS, APPOTrainingConfig, PPOTrainingConfig
from .plugins import env_module_problem, plugin_problem, with_env_module

# Upper bounds of the sizes and counts: far beyond any sensible run on any machine, so that a typo (an extra zero,
# 10**9) stops with one line before anything is allocated or written, instead of allocating until killed.
MAX_PROCESSES = 1024
"""EnvRunner processes of one run, torch threads of one process: more than the cores of the largest machines
(2 x 192 cores) and than the CPUs one learner's Ray cluster sensibly gives its EnvRunners."""
MAX_ENVS_PER_RUNNER = 1024
"""Envs one EnvRunner process steps one after the other (one CPU): the SC2 envs run at about 100 steps/s each."""
MAX_BATCH = 10**7
"""Steps in a train batch / minibatch: 3x OpenAI Five's largest batch (about 3M steps), 300x AlphaStar's."""
MAX_EPOCHS = 10**4
"""Passes over one batch (PPO uses 1 to 30)."""
MAX_SEQ_LEN = 65_536
"""Steps in one LSTM training chunk: 1000x AlphaStar's 64-step unrolls, 10x a 30-minute SC2 game at step_mul 8."""
MAX_ENV_STEPS = 10**15
"""Env steps of a run (AlphaStar: about 10**11 agent steps); exact in a float and an int64."""
MAX_ITERATIONS = 10**9
"""Training iterations of a run (at 1 per second: 30 years)."""
MAX_SEED = 2**31 - 1
"""Largest ``seed``: numpy's global seed (RLlib seeds every EnvRunner with ``seed + worker index``, evaluation
EnvRunners ``+ 10**6``; gymnasium's vector envs ``+ env index``; pretrain's demo episodes ``seed + episode``) must be
< 2**32: with seed <= 2**31 - 1 every offset (< 2 * 10**6) keeps it there."""
MAX_NAME_BYTES = 200
"""Longest ``name`` in UTF-8 bytes: a run directory ``<name>-pretrain-<YYYYmmdd-HHMMSS>.<N>`` must fit the 255
bytes of a file name (ext4, XFS, APFS): 25 bytes of suffixes and 30 left for the collision counter ``.N``."""
ENV_CONFIG_SIZES: dict[str, Range] = {
    "spatial_size": Range(ge=1, le=MAX_MAP_SIDE),
    "max_entities": Range(ge=1, le=4096),
    "max_selected": Range(ge=1, le=1024),
}
"""Sizes in ``env_config`` that the SC2 envs allocate for (``envs.sc2.convert.ContractConfig``), checked here when
they are ints: map side (the minimap: 64, AlphaStar's 128), entity slots (AlphaStar: 512), selected-unit pointer
steps (AlphaStar: 64). Any other key, and a value of another type, is the env's to check."""


@dataclass
class DefaultModuleConfig:
    """RLlib's default MLP module (``model.module: default``): keys of RLlib's ``DefaultModelConfig``, passed to
    it as they are."""

    fcnet_hiddens: list[int] = ranged([128, 128], ge=1, le=MAX_WIDTH)
    """Widths of the hidden layers (tanh) of the policy and of the value network: at most 1024 layers of at most
    8192 units (:data:`~agents.nets.config_values.MAX_WIDTH`)."""

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if len(self.fcnet_hiddens) > MAX_LAYERS:
            yield "fcnet_hiddens", f"expected at most {MAX_LAYERS} layers, got {len(self.fcnet_hiddens)}"


@dataclass
class ModelConfig:
    """The RLModule: which one, and its architecture. Each module has its own typed config, one section here,
    handed to the module field for field: only the section of ``module`` is read."""

    module: str = "alphastar"
    """``alphastar`` (the policy family: structured SC2 envs, and token envs with their own action space;
    ``policy``) or ``default`` (RLlib's MLP; ``default``)."""
    max_seq_len: int = ranged(20, ge=1, le=MAX_SEQ_LEN)
    """Length of the sequence chunks RLlib trains an LSTM core on (``policy.lstm``); at most 65,536 and, with an
    LSTM, at most ``training.train_batch_size_per_learner`` (a longer chunk is never filled, only padded)."""
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
    train_batch_size_per_learner: int = ranged(2000, ge=1, le=MAX_BATCH)
    """Env steps per training iteration (at most 10**7)."""
    minibatch_size: int = ranged(250, ge=1, le=MAX_BATCH)
    """At most ``train_batch_size_per_learner``."""
    num_epochs: int = ranged(6, ge=1, le=MAX_EPOCHS)
    """Passes over each train batch (at most 10**4)."""
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

    num_env_runners: int = ranged(0, ge=0, le=MAX_PROCESSES)
    """0 samples in the driver process; use 1 on a 2-core machine (a Tune-free run needs no extra CPU). At most
    1024 (one process and one CPU each)."""
    num_envs_per_env_runner: int = ranged(1, ge=1, le=MAX_ENVS_PER_RUNNER)
    """Envs each EnvRunner (or the driver) steps in turn; at most 1024."""
    rollout_fragment_length: int | str = ranged("auto", ge=1, le=MAX_BATCH)
    """``auto`` or steps per rollout fragment (1 to 10**7)."""
    restart_failed_env_runners: bool = True
    """Restart an EnvRunner whose env crashed (SC2 processes do), instead of failing the run."""
    max_num_env_runner_restarts: int = ranged(1000, ge=0, le=10**6)
    """EnvRunner restarts before the run fails (at most 10**6)."""
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

    env_steps: int | None = ranged(100_000, ge=1, le=MAX_ENV_STEPS)
    """At most 10**15."""
    iterations: int | None = ranged(None, ge=1, le=MAX_ITERATIONS)
    """At most 10**9."""
    mean_return: float | None = None
    """Any finite number (returns may be negative)."""
    time_s: float | None = ranged(None, gt=0, le=10**9)
    """Wall-clock budget of this process's training loop (seconds; at most 10**9, about 31 years)."""


@dataclass
class FaultConfig:
    """Injected failures, for testing fault tolerance (off by default)."""

    crash_at_step: int | None = ranged(None, ge=1, le=MAX_ENV_STEPS)
    """Every env instance raises at this step of its own (RLlib then recreates it). While RLlib recreates crashed
    envs or EnvRunners (``env_runners.restart_failed_*``), it must exceed the steps each env takes per sample (the
    rollout fragment): RLlib drops a sample whose env crashed and starts it over, so an earlier crash repeats
    forever (1 crashes every env at its first step). With the restarts off, the run fails at the crash."""
    crash_prob: float = ranged(0.0, ge=0, le=1)
    """Per-step probability that the env raises. 1 (every step crashes) only with the restarts off (a run that
    fails at its first step, e.g. a failed ``tune`` trial): with them on, RLlib would recreate the env forever."""
    kill_process: bool = False
    """Instead of raising, end the EnvRunner process (needs ``env_runners.num_env_runners >= 1``)."""
    seed: int = ranged(0, ge=0, le=MAX_SEED)
    """Seed of the crashes' random stream (``seed + pid`` per env); 0 to 2**31 - 1."""


@dataclass
class PretrainConfig:
    """Supervised pretraining (``perceiver-rl pretrain``): behaviour cloning of demonstrations, as AlphaStar
    does before RL. Used only by ``pretrain``; ``train --init-from`` fine-tunes the result."""

    demos: str = "scripted"
    """Demonstration source (``agents.app.pretrain.DEMO_SOURCES``): ``scripted`` = the minigame's scripted agent."""
    episodes: int = ranged(20, ge=1, le=10**4)
    """Demonstration episodes, played on seeds ``seed``, ``seed + 1``, ...; at most 10**4 (they are held in memory:
    a MoveToBeacon episode at 64 x 64 is some 20 MB of observations)."""
    epochs: int = ranged(10, ge=1, le=MAX_EPOCHS)
    """Passes over the demonstrations (at most 10**4)."""
    lr: float = ranged(1e-3, gt=0)
    """Adam learning rate."""
    minibatch_size: int = ranged(256, ge=1, le=MAX_BATCH)
    """Steps per gradient step, at most 10**7 (LSTM policies: whole episodes, ``minibatch_size // episode length``
    of them)."""
    value_loss_coeff: float = ranged(0.5, ge=0)
    """Weight of the value head's squared error to the demos' discounted returns (gamma = ``training.gamma``),
    so that fine-tuning does not start from a random critic; 0 leaves the value head alone."""
    grad_clip: float | None = ranged(1.0, gt=0)
    """Global gradient-norm clip (None: off)."""


@dataclass
class EvaluationConfig:
    """Greedy episodes the training process plays with the learner's weights every ``every`` iterations: their mean
    return goes into progress.jsonl and TensorBoard (``eval/return_mean``), and where the env draws frames (the SC2
    minigames) the first episode of every ``record_every``-th evaluation is a replay with the policy's attention:
    ``replays/iter_N/<env>-ep0-seed<S>.gif`` in the run directory and a film strip of it in TensorBoard
    (``eval/replay``). Training itself is unchanged (torch's random stream is restored after the episodes)."""

    every: int = ranged(25, ge=0, le=MAX_ITERATIONS)
    """Evaluate every k iterations (0: never); at most 10**9."""
    episodes: int = ranged(1, ge=1, le=10**4)
    """Episodes per evaluation (seeds ``seed``, ``seed + 1``, ...); at most 10**4."""
    seed: int = ranged(10000, ge=0, le=MAX_SEED - 10**4)
    """Seed of the first episode: the same episodes at every evaluation, held out from training's seeds."""
    record_every: int = ranged(1, ge=0, le=MAX_ITERATIONS)
    """Record a replay at every k-th evaluation (0: never); at most 10**9."""


@dataclass
class ExperimentConfig:
    """One runnable experiment (one YAML file)."""

    env: str = "perceiver_rl/Tokens-CartPole-v1"
    """An id of ``perceiver-rl list``, of gymnasium, or of a module of ``plugins`` (which registers it); or
    gymnasium's ``module:id``, whose module becomes one of ``plugins`` (the config keeps ``id``: a run's
    ``config.yaml`` records the module in ``plugins``)."""
    algorithm: str = "PPO"
    """``PPO`` | ``APPO`` (:data:`agents.experiment.algorithms.ALGORITHM_SECTIONS`); its own hyper-parameters are
    the section of the same name in lower case."""
    name: str = ""
    """Run name (default: the YAML file's stem); a plain file name: no path separator (``/``, ``\\``), no control
    character, not hidden (a leading ``.``), not only spaces, at most 200 bytes in UTF-8 (:data:`MAX_NAME_BYTES`)."""
    seed: int = ranged(0, ge=0, le=MAX_SEED)
    """0 to 2**31 - 1 (:data:`MAX_SEED`: numpy's seeds, offsets included, stay below 2**32)."""
    env_config: dict = field(default_factory=dict)
    """Keyword arguments for the env constructor; the sizes the SC2 envs allocate for are bounded here
    (:data:`ENV_CONFIG_SIZES`: ``spatial_size`` <= 1024, ``max_entities`` <= 4096, ``max_selected`` <= 1024)."""
    model: ModelConfig = field(default_factory=ModelConfig)
    plugins: list[str] = field(default_factory=list)
    """Modules to import before the env is made and the module is built (``my_package.my_encoder``): user code that
    registers an encoder, heads, an algorithm or an env id. Imported when the config is built (an import error
    names ``plugins``), in every EnvRunner before it makes its env, and wherever the RLModule is built: the driver,
    every EnvRunner and every learner (docs/custom_policy.md)."""
    training: TrainingConfig = field(default_factory=TrainingConfig)
    ppo: PPOTrainingConfig = field(default_factory=PPOTrainingConfig)
    """PPO's own hyper-parameters (read with ``algorithm: PPO``)."""
    appo: APPOTrainingConfig = field(default_factory=APPOTrainingConfig)
    """APPO's own hyper-parameters (read with ``algorithm: APPO``)."""
    env_runners: EnvRunnerConfig = field(default_factory=EnvRunnerConfig)
    stop: StopConfig = field(default_factory=StopConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    checkpoint_every: int = ranged(5, ge=1, le=MAX_ITERATIONS)
    """Checkpoint every k iterations (and always at the end); at most 10**9."""
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    runs_dir: str = "runs"
    """Where run directories are created (``<runs_dir>/<name>-<timestamp>``)."""
    torch_threads: int = ranged(1, ge=1, le=MAX_PROCESSES)
    """torch intra-op threads of the training process (learner, and sampling when ``num_env_runners`` is 0).
    More than 1 pays only for big minibatches on otherwise idle cores: with another busy process on a 2-core
    machine, OpenMP barriers stalled a batch-16 action from 35 ms (1 thread) to 1.1 s (2 threads). At most 1024."""

    def __post_init__(self) -> None:
        self._env_module_problem: str | None = None
        """Why the module of a ``module:id`` env cannot be imported (a cross-check names ``env``), or None."""
        if isinstance(self.env, str) and ":" in self.env and isinstance(self.plugins, list):
            self._env_module_problem = env_module_problem(self.env)
            if self._env_module_problem is None:  # one code path: the module is a plugin from here on
                self.env, self.plugins = with_env_module(self.env, self.plugins)

    def algorithm_section(self) -> Any:
        """The section of this experiment's algorithm (``self.ppo`` for PPO, ...)."""
        return getattr(self, ALGORITHM_SECTIONS[self.algorithm])

    def _cross_checks(self) -> Iterator[tuple[str, str]]:
        if self._env_module_problem:
            yield "env", self._env_module_problem
        for name in self.plugins:  # first: a plugin may register the algorithm (docs/extending.md)
            problem = plugin_problem(name)
            if problem:
                yield "plugins", problem
        if self.algorithm not in ALGORITHM_SECTIONS:
            yield "algorithm", f"unknown algorithm {self.algorithm!r} (valid: {', '.join(ALGORITHM_SECTIONS)})"
        yield from self._name_problems()
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
        for key, rng in ENV_CONFIG_SIZES.items():
            value = self.env_config.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value not in rng:
                yield f"env_config.{key}", f"expected {rng.describe()}, got {value!r}"
        batch = self.training.train_batch_size_per_learner
        if self.model.module == "alphastar" and self.model.policy.lstm and self.model.max_seq_len > batch:
            yield (
                "model.max_seq_len",
                f"expected <= training.train_batch_size_per_learner ({batch}) with an LSTM (a longer chunk is never "
                f"filled, only padded), got {self.model.max_seq_len}",
            )
        yield from self._fault_problems()

    def _name_problems(self) -> Iterator[tuple[str, str]]:
        """``name`` must be usable as the start of a directory name on every file system."""
        name = self.name
        if "/" in name or "\\" in name or name in (".", ".."):
            yield "name", f"expected a plain file name (no path separator), got {name!r}"
        elif any(ord(c) < 32 or ord(c) == 127 for c in name):
            yield "name", f"expected a plain file name (no control character), got {name!r}"
        elif name.startswith("."):
            yield "name", f"expected a plain file name (not hidden: no leading '.'), got {name!r}"
        elif name and not name.strip():
            yield "name", f"expected a non-empty name (not only spaces), got {name!r}"
        else:
            try:
                size = len(name.encode("utf-8"))
            except UnicodeEncodeError:  # a lone surrogate ("\\ud800" in YAML): no file system takes it
                yield "name", f"expected a plain file name (UTF-8 text), got {name!r}"
                return
            if size > MAX_NAME_BYTES:
                yield (
                    "name",
                    f"expected at most {MAX_NAME_BYTES} bytes in UTF-8 (a run directory adds up to 55 to it, and a "
                    f"file name has at most 255), got {size}: {name[:20]!r}...",
                )

    def _fault_problems(self) -> Iterator[tuple[str, str]]:
        """Injected faults that can never let a sample complete while RLlib retries them: RLlib drops the sample of
        a crashed env (``SingleAgentEnvRunner.sample`` starts it over) and recreates the env or the EnvRunner, whose
        step count starts again at 0, so a crash before the fragment is full repeats forever."""
        f, er = self.faults, self.env_runners
        if f.kill_process:
            retried = er.restart_failed_env_runners and er.max_num_env_runner_restarts > 0
            restart = "env_runners.restart_failed_env_runners"
        else:
            remote = er.num_env_runners >= 1 and er.restart_failed_env_runners and er.max_num_env_runner_restarts > 0
            retried = er.restart_failed_sub_environments or remote
            restart = "env_runners.restart_failed_" + (
                "sub_environments" if er.restart_failed_sub_environments else "env_runners"
            )
        if not retried:
            return  # a run that fails at its crash: a valid test (a failed tune trial)
        if f.crash_prob >= 1:
            yield (
                "faults.crash_prob",
                f"expected < 1 while {restart} is on (every step crashes and is retried forever), got {f.crash_prob}",
            )
        fragment = self._steps_per_sample()
        if f.crash_at_step is not None and fragment is not None and f.crash_at_step <= fragment[0]:
            yield (
                "faults.crash_at_step",
                f"expected > {fragment[0]}, the steps each env takes per sample ({fragment[1]}), while {restart} is "
                f"on: every env would crash before its sample is complete, forever; got {f.crash_at_step}",
            )

    def _steps_per_sample(self) -> tuple[int, str] | None:
        """Steps each env takes in one ``sample()`` of an EnvRunner and where the number comes from:
        ``rollout_fragment_length``, or RLlib's ``auto`` (``AlgorithmConfig.get_rollout_fragment_length``: the train
        batch of the one learner over all envs, rounded up); None for an invalid value (reported by its own check)."""
        er = self.env_runners
        if er.rollout_fragment_length == "auto":
            envs = er.num_envs_per_env_runner * max(1, er.num_env_runners)
            batch = self.training.train_batch_size_per_learner
            return math.ceil(batch / envs), f"env_runners.rollout_fragment_length auto: {batch} steps / {envs} envs"
        if isinstance(er.rollout_fragment_length, int):
            return er.rollout_fragment_length, "env_runners.rollout_fragment_length"
        return None
