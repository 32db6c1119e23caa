"""Evaluations during training (``evaluation:`` in the config, :class:`agents.experiment.config.EvaluationConfig`):
greedy episodes played in the training process with the learner's live module, their mean return, and a replay
with the policy's attention as a GIF under ``replays/`` and a film strip in TensorBoard, so that a long run can be
watched while it trains.

The episodes run on a fresh env of the experiment's id and config (never the EnvRunners' envs), under the seeds
``evaluation.seed + k`` and with torch's random stream restored afterwards (:func:`agents.app.evaluate.run_episodes`):
training samples, updates and checkpoints exactly as it would without them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..experiment.config import ExperimentConfig

STRIP_FRAMES = 8
"""Frames of a replay shown side by side in TensorBoard's film strip (evenly spaced, first and last included)."""


def due(cfg: ExperimentConfig, iteration: int) -> tuple[bool, bool]:
    """(evaluate after ``iteration``, record a replay then)."""
    ev = cfg.evaluation
    if not ev.every or iteration % ev.every:
        return False, False
    return True, bool(ev.record_every) and (iteration // ev.every) % ev.record_every == 0


def evaluate_in_training(module, cfg: ExperimentConfig, run_dir: Path, iteration: int, record: bool) -> dict:
    """Play ``cfg.evaluation.episodes`` greedy episodes with ``module`` (the learner's; put back in the mode it was
    in); ``{"eval_return_mean": float, "replay": Path | None}``. ``record``: the first episode is a replay in
    ``run_dir/replays/iter_N/`` where the env draws frames (others play unrecorded)."""
    from ..rllib.build import make_env
    from .evaluate import ModulePolicy, run_episodes

    ev = cfg.evaluation
    env = make_env(cfg.env, cfg.env_config, plugins=cfg.plugins)
    was_training = module.training
    module.eval()
    try:
        policy = ModulePolicy(module)
        record_dir = run_dir / "replays" / f"iter_{iteration:06d}"
        renderable = callable(getattr(env.unwrapped, "frame", None))
        returns: list[float] = []
        replay = None
        if record and renderable:
            returns += run_episodes(policy, env, 1, ev.seed, record=record_dir)
            replay = next(record_dir.glob("*.gif"), None)
        returns += run_episodes(policy, env, ev.episodes - len(returns), ev.seed + len(returns))
    finally:
        module.train(was_training)
        env.close()
    return {"eval_return_mean": float(np.mean(returns)) if returns else math.nan, "replay": replay}


def film_strip(gif: Path, frames: int = STRIP_FRAMES) -> np.ndarray:
    """``(H, frames * W, 3)`` uint8: ``frames`` evenly spaced frames of ``gif`` side by side (TensorBoard image)."""
    from PIL import Image

    with Image.open(gif) as im:
        n = im.n_frames
        picks = sorted({round(i * (n - 1) / max(frames - 1, 1)) for i in range(frames)})
        images = []
        for k in picks:
            im.seek(k)
            images.append(np.asarray(im.convert("RGB")))
    return np.concatenate(images, axis=1)
