"""Evaluate a checkpoint: restore the RLModule from safetensors and run greedy (or sampled) episodes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import yaml

from .checkpoint import load_checkpoint, resolve_checkpoint, run_dir_of
from .config import ExperimentConfig, config_from_dict


def load_run_config(ckpt: Path) -> ExperimentConfig:
    return config_from_dict(yaml.safe_load((run_dir_of(ckpt) / "config.yaml").read_text()))


def load_module(checkpoint: str | Path, env: gym.Env):
    from .rllib.build import build_module

    ckpt = resolve_checkpoint(checkpoint)
    cfg = load_run_config(ckpt)
    module = build_module(cfg, env)
    _, module_state, _ = load_checkpoint(ckpt)
    module.load_state_dict(module_state)
    module.eval()
    return module


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
    import envs

    envs.register_all()
    ckpt = resolve_checkpoint(checkpoint)
    cfg = load_run_config(ckpt)
    env_id = env_id or cfg.env
    env = gym.make(env_id, **(cfg.env_config if env_id == cfg.env else {}))
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
