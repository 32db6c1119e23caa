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
from .replay import EpisodeRecorder, check_record, check_renderable, recording_name, write_recordings


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

    def attention(self, obs, action, state) -> dict | None:
        """What the policy attended to when it chose ``action`` from ``obs`` (``state``: its state before that step):
        ``entities (N,)`` (the encoder's attention onto the entity slots) and ``location (H, W)`` (the location head's
        distribution, when the action takes a location), for the replay's overlay; None for a module without our
        policy inside (RLlib's MLP)."""
        from ..nets.attention_maps import attention_maps

        if getattr(self.module, "policy", None) is None:
            return None
        squeeze = (lambda t: t[0]) if state is not None else (lambda t: t)
        maps = attention_maps(
            self.module, obs, None if state is None else {k: squeeze(v) for k, v in state.items()}, actions=action
        )
        return {k: v for k, v in (("entities", maps.entities), ("location", maps.location)) if v is not None}

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


def run_episodes(
    policy: ModulePolicy,
    env: gym.Env,
    episodes: int,
    seed: int = 0,
    record: Path | None = None,
    record_format: str = "gif",
) -> list[float]:
    """Play ``episodes`` episodes, episode ``k`` on seed ``seed + k`` with torch's random stream seeded the same (a
    sampling policy plays the same episodes on rerun; torch's global stream is restored after each). ``record``: a
    directory that receives every episode's replay (:mod:`agents.app.replay`), written only after the last episode
    finished."""
    recorder = None
    if record is not None:
        check_record(record, record_format)
        check_renderable(env, _env_name(env))
        recorder = EpisodeRecorder(env, record_format)
    returns, files = [], {}
    for ep in range(episodes):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + ep)
            obs, _ = env.reset(seed=seed + ep)
            policy.reset()
            if recorder is not None:
                recorder.start()
            total, done = 0.0, False
            while not done:
                state = getattr(policy, "state", None)
                action = policy.act(obs)
                explain = getattr(policy, "attention", None) if recorder is not None else None
                attention = explain(obs, action, state) if explain is not None else None
                obs, reward, terminated, truncated, _ = env.step(action)
                if recorder is not None:
                    recorder.step(attention)
                total += float(reward)
                done = terminated or truncated
        returns.append(total)
        if recorder is not None:
            files[recording_name(_env_name(env), ep, seed + ep, record_format)] = recorder.finish()
    if record is not None:
        write_recordings(record, files)
    return returns


def _env_name(env: gym.Env) -> str:
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def evaluate(
    checkpoint: str | Path,
    env_id: str | None,
    episodes: int,
    seed: int = 0,
    explore: bool = False,
    record: Path | None = None,
    record_format: str = "gif",
) -> dict:
    """Play ``episodes`` episodes of ``env_id`` (default: the run's env) with the checkpoint's policy; bad input
    (no checkpoint, unknown env, weights that do not fit that env's spaces, a ``record`` directory that cannot be
    written, an env without a renderer) raises ``ConfigError`` before any episode is played. ``record``: every
    episode's replay goes there (:func:`run_episodes`)."""
    if record is not None:
        check_record(record, record_format)
    ckpt = resolve_checkpoint(checkpoint)
    cfg = load_run_config(ckpt)
    load_checkpoint(ckpt)  # unreadable files fail here, before RLlib is imported
    import torch

    torch.set_num_threads(cfg.torch_threads)
    from ..experiment.plugins import split_env
    from ..rllib.build import make_env, observations_problem
    from ..rllib.runs import load_module

    key = "env" if env_id in (None, cfg.env) else "--env"
    env_id = env_id or cfg.env
    own = split_env(env_id)[1] == cfg.env  # the run's env_config: its own id, also as ``--env module:id``
    env = make_env(env_id, cfg.env_config if own else {}, key=key, plugins=cfg.plugins)
    env_id = split_env(env_id)[1]
    problem = observations_problem(cfg.model.module, env)
    if problem:
        env.close()
        raise ConfigError(f"--env {env_id}: the run's module {problem}")
    try:
        if record is not None:
            check_renderable(env, env_id)
        policy = ModulePolicy(load_module(ckpt, env), explore=explore)
        returns = run_episodes(policy, env, episodes, seed, record=record, record_format=record_format)
    finally:
        env.close()
    names = [recording_name(_env_name(env), ep, seed + ep, record_format) for ep in range(episodes)]
    recordings = [str(record / name) for name in names] if record is not None else []
    return {
        "checkpoint": str(ckpt),
        "env": env_id,
        "episodes": episodes,
        "mean": float(np.mean(returns)),
        "std": float(np.std(returns)),
        "returns": returns,
        "recordings": recordings,
        "config": dataclasses.asdict(cfg),
    }
