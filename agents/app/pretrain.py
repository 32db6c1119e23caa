"""Supervised pretraining before RL, as AlphaStar does: behaviour cloning of demonstrations.

    perceiver-rl pretrain CONFIG --demos scripted --episodes N [--epochs E]   # writes a run directory
    perceiver-rl train CONFIG --init-from RUN_DIR                             # PPO fine-tunes its weights

1. Demonstrations (:class:`Demonstrations`): (observation, action) pairs exactly as the env sees them:
   observations from ``gym.make(cfg.env, **cfg.env_config)``, actions in the structured encoding that the
   env's ``step`` takes and the policy emits. Sources are registered in :data:`DEMO_SOURCES`; ``scripted``
   plays the minigame's scripted agent (``envs.sc2.scripted``). A replay source would push replays through
   the same ``TimestepConverter`` and return the same arrays.
2. The RLModule is built from the RLModuleSpec that training uses (``agents.rllib.build.build_module``), so
   its ``state_dict`` is what ``train --init-from`` loads into the learner.
3. Behaviour cloning of ``module.policy``: minimise ``-logp(demo action)`` (teacher-forced, legality-masked)
   plus ``value_loss_coeff * (V(s) - G)^2``, ``G`` the demo's discounted return (``training.gamma``), so
   that fine-tuning does not start from a random critic. Adam, shuffled minibatches, one line per epoch.
4. A run directory in the standard layout: ``config.yaml``, ``progress.jsonl`` (one row per epoch),
   ``tb/`` (step = epoch), ``pretrain.json`` (the demos and the last epoch),
   ``checkpoints/iter_<epochs>/module.safetensors`` (``perceiver-rl evaluate RUN_DIR`` plays it).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

import gymnasium as gym
import numpy as np
import torch

from envs.spec import ARGUMENTS

from ..experiment.checkpoint import Counters, save_checkpoint
from ..experiment.config import ConfigError, ExperimentConfig, PretrainConfig
from ..nets.observation import stack_observations

_LOCATION, _TARGET = ARGUMENTS.index("location"), ARGUMENTS.index("target_unit")


# ------------------------------------------------------------------------------------------ demonstrations


def _compact(x: np.ndarray) -> np.ndarray:
    """``x`` as uint8 when that is lossless (binary feature planes: 4x less memory), else unchanged."""
    if x.dtype.kind == "f" and x.size and x.min() >= 0 and x.max() <= 255 and np.array_equal(x, x.astype(np.uint8)):
        return x.astype(np.uint8)
    return x


@dataclass
class Demonstrations:
    """T demonstration steps of E episodes, concatenated in play order."""

    obs: dict[str, np.ndarray]
    """Observation fields ``(T, ...)`` as the env returned them (float fields that hold only small integers
    are stored as uint8, losslessly; the policy converts every field to float anyway)."""
    actions: dict[str, np.ndarray]
    """Structured actions as the env took them, int64: ``action_type (T,)``, ``selected_units (T, M)``, ..."""
    returns: np.ndarray
    """(T,) float32 discounted return from each step to the end of its episode."""
    episode_starts: np.ndarray
    """(E + 1,) index of each episode's first step, then T."""
    episode_returns: list[float]
    """(E,) undiscounted score of each episode."""

    def __len__(self) -> int:
        return len(self.returns)

    @classmethod
    def from_episodes(cls, episodes: list[tuple[list[dict], list[dict], list[float]]], gamma: float) -> Demonstrations:
        """``[(observations, actions, rewards) per episode]`` (one entry per step) -> stacked arrays."""
        obs = stack_observations([o for ep_obs, _, _ in episodes for o in ep_obs])
        actions = stack_observations([a for _, ep_actions, _ in episodes for a in ep_actions])
        returns = []
        for _, _, rewards in episodes:
            g, ret = 0.0, []
            for r in reversed(rewards):
                g = r + gamma * g
                ret.append(g)
            returns.extend(reversed(ret))
        return cls(
            obs={k: _compact(v) for k, v in obs.items()},
            actions={k: v.astype(np.int64) for k, v in actions.items()},
            returns=np.asarray(returns, np.float32),
            episode_starts=np.cumsum([0] + [len(r) for _, _, r in episodes]),
            episode_returns=[float(sum(r)) for _, _, r in episodes],
        )


def record_episode(env: gym.Env, act: Callable[[dict], dict], seed: int) -> tuple[list[dict], list[dict], list[float]]:
    """Play one episode with ``act(obs) -> action``; every observation the actor saw, its action, the reward."""
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards, done = [], [], [], False
    while not done:
        action = act(obs)
        observations.append(obs)
        actions.append({k: np.asarray(v) for k, v in action.items()})
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(float(reward))
        done = terminated or truncated
    return observations, actions, rewards


class DemoSource(Protocol):
    """``Source(cfg)`` checks that it can serve ``cfg`` (``ConfigError`` otherwise, before anything is written);
    ``collect`` returns the demonstrations."""

    def __init__(self, cfg: ExperimentConfig) -> None: ...

    def collect(self, episodes: int, seed: int) -> Demonstrations: ...


class ScriptedDemos:
    """``scripted``: the config's env played by its minigame's scripted agent (``envs.sc2.SCRIPTED_AGENTS``)."""

    def __init__(self, cfg: ExperimentConfig) -> None:
        from envs.sc2.scripted import SCRIPTED_AGENTS

        from .sc2le import minigame_of

        game = minigame_of(cfg.env)
        if game not in SCRIPTED_AGENTS:
            raise ConfigError(
                f"--demos scripted: no scripted agent plays {cfg.env} (scripted minigames: {', '.join(SCRIPTED_AGENTS)})"
            )
        from envs.maps import minigame

        functions = cfg.env_config.get("action_functions") or minigame(game).action_functions
        missing = [f for f in ("no_op", "Move_pt") if f not in functions]  # what the scripted agents play
        if missing:
            raise ConfigError(
                f"env_config.action_functions: the scripted {game} agent needs {', '.join(missing)}, got {list(functions)}"
            )
        self.cfg, self.agent_class = cfg, SCRIPTED_AGENTS[game]
        self.unit_targeting = "Move_unit" in functions
        """With ``Move_unit`` in the action set the agent sends units to their pickups by unit targeting (the pointer
        heads), as a unit-targeting policy would; else ``Move_pt`` to the pickup's cell (the location head)."""

    def collect(self, episodes: int, seed: int) -> Demonstrations:
        import envs

        env = gym.make(self.cfg.env, **self.cfg.env_config)
        try:
            agent = self.agent_class(envs.contract_of(env)["act_spec"], unit_targeting=self.unit_targeting)
            played = []
            for i in range(episodes):
                agent.reset()
                played.append(record_episode(env, agent.act, seed + i))
        finally:
            env.close()
        return Demonstrations.from_episodes(played, self.cfg.training.gamma)


DEMO_SOURCES: dict[str, type[DemoSource]] = {"scripted": ScriptedDemos}
"""``pretrain.demos`` / ``--demos`` name -> demonstration source."""


def demo_source(cfg: ExperimentConfig) -> DemoSource:
    """The configured demo source, after checking everything ``pretrain`` needs (``ConfigError`` naming the
    culprit); call it before writing anything."""
    p = cfg.pretrain
    if p.demos not in DEMO_SOURCES:
        raise ConfigError(f"--demos: unknown demo source {p.demos!r} (valid: {', '.join(DEMO_SOURCES)})")
    source = DEMO_SOURCES[p.demos](cfg)
    if cfg.model.module != "alphastar":
        raise ConfigError(
            f"model.module: pretrain clones structured actions with the alphastar module, got {cfg.model.module!r}"
        )
    return source


# ------------------------------------------------------------------------------------------ behaviour cloning


@dataclass
class EpochStats:
    """One pass over the demonstrations (means over its steps)."""

    epoch: int
    loss: float
    policy_loss: float
    """Mean ``-logp`` of the demo actions (teacher-forced)."""
    value_loss: float
    """Mean squared error of the value head to the demo's discounted returns."""
    action_type_accuracy: float
    """Fraction of steps whose argmax action type is the demo's."""
    location_accuracy: float
    """Among steps whose demo action takes a location: fraction whose argmax location (given the demo's action
    type) is the demo's cell exactly (NaN when no demo action takes one)."""
    target_unit_accuracy: float
    """The same for the target-unit pointer (unit-targeted demo actions: the demo's entity exactly)."""
    steps: int
    time_s: float


def _percent(x: float) -> str:
    """``x`` as a 6-wide percentage; ``     -`` for NaN (no demo step used that argument)."""
    return f"{'-':>6}" if math.isnan(x) else f"{x:6.1%}"


def minibatches(
    demos: Demonstrations, size: int, sequences: bool, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled step indices into ``demos``, with which entries are real steps.

    Feed-forward policies: ``(b,)`` steps (all real). LSTM policies (``sequences``): ``(b, T)`` whole
    episodes, ``b = max(1, size // T)``, shorter episodes padded with step 0 and marked not real, so the core
    starts from its initial state at each episode's start as when acting.
    """
    if not sequences:
        order = rng.permutation(len(demos))
        for i in range(0, len(order), size):
            idx = order[i : i + size]
            yield idx, np.ones(len(idx), bool)
        return
    starts, ends = demos.episode_starts[:-1], demos.episode_starts[1:]
    t_max = int((ends - starts).max())
    steps = starts[:, None] + np.arange(t_max)[None]
    real = steps < ends[:, None]
    order = rng.permutation(len(starts))
    b = max(1, size // t_max)
    for i in range(0, len(order), b):
        ep = order[i : i + b]
        yield np.where(real[ep], steps[ep], 0), real[ep]


def behaviour_cloning(
    policy: torch.nn.Module, demos: Demonstrations, cfg: PretrainConfig, *, seed: int = 0
) -> Iterator[EpochStats]:
    """Train ``policy`` (an ``AlphaStarPolicy``) on ``demos`` for ``cfg.epochs`` epochs; yields each epoch's stats."""
    device = next(policy.parameters()).device
    sequences = policy.initial_state(1) is not None
    optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(seed)
    policy.train()
    for epoch in range(1, cfg.epochs + 1):
        start = time.time()
        sums = dict.fromkeys(
            (
                "loss",
                "policy_loss",
                "value_loss",
                "type_hits",
                "loc_hits",
                "loc_steps",
                "target_hits",
                "target_steps",
                "steps",
            ),
            0.0,
        )
        for idx, real in minibatches(demos, cfg.minibatch_size, sequences, rng):
            obs = {k: torch.as_tensor(v[idx]) for k, v in demos.obs.items()}
            actions = {k: torch.as_tensor(v[idx]) for k, v in demos.actions.items()}
            weight = torch.as_tensor(real, dtype=torch.float32, device=device)
            n = weight.sum()
            state = policy.initial_state(idx.shape[0]) if sequences else None
            out = policy(obs, actions=actions, state=state)
            policy_loss = -(out.logp * weight).sum() / n
            returns = torch.as_tensor(demos.returns[idx], device=device)
            value_loss = ((out.value - returns) ** 2 * weight).sum() / n
            loss = policy_loss + cfg.value_loss_coeff * value_loss
            optimizer.zero_grad()
            loss.backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
            optimizer.step()
            with torch.no_grad():  # argmax heads, teacher-forced on the demo's action type
                logits, flat_real = out.distribution.logits, weight.flatten().bool()
                action_type = actions["action_type"].flatten().to(device)
                takes_location = policy.uses[action_type, _LOCATION] & flat_real
                location = actions["location"].flatten().to(device)
                sums["type_hits"] += float(((logits["action_type"].argmax(-1) == action_type) & flat_real).sum())
                sums["loc_hits"] += float(((logits["location"].argmax(-1) == location) & takes_location).sum())
                sums["loc_steps"] += float(takes_location.sum())
                takes_target = policy.uses[action_type, _TARGET] & flat_real
                target = actions["target_unit"].flatten().to(device)
                sums["target_hits"] += float(((logits["target_unit"].argmax(-1) == target) & takes_target).sum())
                sums["target_steps"] += float(takes_target.sum())
            for key, value in (("loss", loss), ("policy_loss", policy_loss), ("value_loss", value_loss)):
                sums[key] += float(value.detach()) * float(n)
            sums["steps"] += float(n)
        steps = sums["steps"]
        yield EpochStats(
            epoch=epoch,
            loss=sums["loss"] / steps,
            policy_loss=sums["policy_loss"] / steps,
            value_loss=sums["value_loss"] / steps,
            action_type_accuracy=sums["type_hits"] / steps,
            location_accuracy=sums["loc_hits"] / sums["loc_steps"] if sums["loc_steps"] else math.nan,
            target_unit_accuracy=sums["target_hits"] / sums["target_steps"] if sums["target_steps"] else math.nan,
            steps=int(steps),
            time_s=time.time() - start,
        )
    policy.eval()


# ------------------------------------------------------------------------------------------ run directory


def pretrain(cfg: ExperimentConfig, source: DemoSource, run_dir: Path, out: TextIO | None = None) -> list[EpochStats]:
    """Collect demonstrations, clone them into the experiment's RLModule, write ``run_dir`` (module docstring)."""
    from ..rllib.build import build_module
    from .tensorboard import ScalarLogger

    out, p, start = out or sys.stdout, cfg.pretrain, time.time()
    torch.set_num_threads(cfg.torch_threads)
    demos = source.collect(p.episodes, cfg.seed)
    score = np.asarray(demos.episode_returns)
    print(
        f"demonstrations ({p.demos}): {p.episodes} episodes, {len(demos):,} steps, "
        f"score {score.mean():.2f} +- {score.std():.2f} ({time.time() - start:.0f} s)",
        file=out, flush=True,
    )  # fmt: skip
    torch.manual_seed(cfg.seed)
    env = gym.make(cfg.env, **cfg.env_config)
    try:
        module = build_module(cfg, env)
    finally:
        env.close()
    history: list[EpochStats] = []
    tb = ScalarLogger(run_dir / "tb")
    try:
        with (run_dir / "progress.jsonl").open("a") as progress:
            for stats in behaviour_cloning(module.policy, demos, p, seed=cfg.seed):
                history.append(stats)
                print(
                    f"epoch {stats.epoch:3d}/{p.epochs} | loss {stats.loss:8.4f} | -logp {stats.policy_loss:8.4f} | "
                    f"value mse {stats.value_loss:7.4f} | action type acc {stats.action_type_accuracy:6.1%} | "
                    f"location acc {_percent(stats.location_accuracy)} | target unit acc {_percent(stats.target_unit_accuracy)} | "
                    f"{stats.time_s:5.1f} s",
                    file=out, flush=True,
                )  # fmt: skip
                row = dataclasses.asdict(stats)
                progress.write(json.dumps(row) + "\n")
                progress.flush()
                tb.log(stats.epoch, {f"pretrain/{k}": v for k, v in row.items() if k != "epoch"})
    finally:
        tb.close()
    counters = Counters(iteration=p.epochs, wall_time_s=time.time() - start)
    ckpt = save_checkpoint(run_dir, counters, module.state_dict(), {})
    summary = {
        "demos": p.demos,
        "episodes": p.episodes,
        "steps": len(demos),
        "demo_score_mean": float(score.mean()),
        "demo_score_std": float(score.std()),
        "final": dataclasses.asdict(history[-1]),
        "checkpoint": ckpt.name,
    }
    (run_dir / "pretrain.json").write_text(json.dumps(summary, indent=1))
    print(f"checkpoint {ckpt}; fine-tune with: perceiver-rl train CONFIG --init-from {run_dir}", file=out, flush=True)
    return history
