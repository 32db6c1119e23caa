"""Evaluate a checkpoint: restore the RLModule from safetensors and run greedy (or sampled) episodes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from ..experiment.checkpoint import load_checkpoint, resolve_checkpoint
from ..experiment.config import ConfigError
from ..experiment.run_dir import load_run_config


class ModulePolicy:
    """Step-by-step actions from an RLModule, carrying LSTM state, greedy unless ``explore``."""

    def __init__(self, module, explore: bool = False) -> None:
        from ray.rllib.core.columns import Columns

        self.module, self.explore, self.C = module, explore, Columns
        self.stateful = module.is_stateful()
        self.reset()

    def reset(self) -> None:
        init = self.module.get_initial_state() if self.stateful else None
        self.state = {k: torch.as_tensor(v)[None] for k, v in init.items()} if init else None

    def _batch(self, obs):
        def to_t(x):
            t = torch.as_tensor(np.asarray(x))[None]
            return t[:, None] if self.stateful else t

        batch = {self.C.OBS: {k: to_t(v) for k, v in obs.items()} if isinstance(obs, dict) else to_t(obs)}
        if self.stateful:
            batch[self.C.STATE_IN] = self.state
        return batch

    @torch.no_grad()
    def act(self, obs):
        fwd = self.module.forward_exploration if self.explore else self.module.forward_inference
        out = fwd(self._batch(obs))
        if self.stateful:
            self.state = out[self.C.STATE_OUT]
        if self.C.ACTIONS in out:
            action = out[self.C.ACTIONS]
        else:
            dist = self.module.get_inference_action_dist_cls().from_logits(out[self.C.ACTION_DIST_INPUTS])
            action = (dist if self.explore else dist.to_deterministic()).sample()
        squeeze = (lambda t: t[0, 0]) if self.stateful else (lambda t: t[0])
        if isinstance(action, dict):
            return {k: squeeze(v).numpy() for k, v in action.items()}
        return squeeze(action).numpy()


def run_episodes(policy: ModulePolicy, env: gym.Env, episodes: int, seed: int = 0) -> list[float]:
    returns = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        policy.reset()
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy.act(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def evaluate(checkpoint: str | Path, env_id: str | None, episodes: int, seed: int = 0, explore: bool = False) -> dict:
    """Play ``episodes`` episodes of ``env_id`` (default: the run's env) with the checkpoint's policy; bad input
    (no checkpoint, unknown env, weights that do not fit that env's spaces) raises ``ConfigError``."""
    ckpt = resolve_checkpoint(checkpoint)
    cfg = load_run_config(ckpt)
    load_checkpoint(ckpt)  # unreadable files fail here, before RLlib is imported
    import torch

    torch.set_num_threads(cfg.torch_threads)
    from ..rllib.build import make_env, observations_problem
    from ..rllib.runs import load_module

    own = env_id in (None, cfg.env)
    env_id = env_id or cfg.env
    env = make_env(env_id, cfg.env_config if own else {}, key="env" if own else "--env")
    problem = observations_problem(cfg.model.module, env)
    if problem:
        env.close()
        raise ConfigError(f"--env {env_id}: the run's module {problem}")
    try:
        returns = run_episodes(ModulePolicy(load_module(ckpt, env), explore=explore), env, episodes, seed)
    finally:
        env.close()
    return {
        "checkpoint": str(ckpt),
        "env": env_id,
        "episodes": episodes,
        "mean": float(np.mean(returns)),
        "std": float(np.std(returns)),
        "returns": returns,
        "config": dataclasses.asdict(cfg),
    }
