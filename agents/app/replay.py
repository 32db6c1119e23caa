"""Replays of evaluated episodes (``perceiver-rl evaluate RUN --record DIR``): every episode as an animated GIF (or an
MP4 where a video writer is installed), drawn by :mod:`envs.render` from the env's frames.

- :func:`check_record` runs before anything is played: ``DIR`` must be a directory or creatable as one and writable,
  and the format writable here; :func:`check_renderable` checks that the env draws frames (the SC2 minigames, real or
  simulated: ``env.unwrapped.frame()``). Both raise a one-line ``ConfigError`` naming ``--record``.
- :class:`EpisodeRecorder` draws one episode in memory: the frame of every observation (``steps + 1`` frames), each
  with the action chosen from it (the next step's), and an optional attention overlay per frame.
- :func:`write_recordings` moves the episodes' bytes into ``DIR`` only once every episode finished: a run that fails
  writes nothing. Files are ``DIR/<env>-ep<k>-seed<s>.<gif|mp4>`` (``<env>``: the id without its namespace).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from ..nets.config_values import ConfigError

FORMATS = ("gif", "mp4")
"""Replay formats (``--record-format``); GIF needs Pillow only."""
FRAME_MS = 100
"""Duration of one frame (one agent step): 10 frames per second."""


def check_record(directory: Path, fmt: str = "gif") -> None:
    """``ConfigError`` naming ``--record`` unless ``directory`` is a directory, or can be created as one, where this
    process may write, and ``fmt`` can be written here. Creates nothing."""
    from envs.render import video_writer_problem

    if fmt not in FORMATS:
        raise ConfigError(f"--record-format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "mp4":
        problem = video_writer_problem()
        if problem:
            raise ConfigError(f"--record-format mp4: {problem}")
    try:
        if directory.exists() and not directory.is_dir():
            raise ConfigError(f"--record {directory}: not a directory")
        existing = directory.absolute()
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise ConfigError(f"--record {directory}: {existing} is not a directory")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"--record {directory}: cannot write there (permission denied on {existing})")
    except OSError as e:
        raise ConfigError(f"--record {directory}: cannot write there ({e.strerror or e})") from None


def check_renderable(env: gym.Env, env_id: str) -> None:
    """``ConfigError`` naming ``--record`` unless ``env`` draws replay frames (``env.unwrapped.frame()``)."""
    if not callable(getattr(env.unwrapped, "frame", None)):
        raise ConfigError(f"--record: {env_id} has no renderer (replays are drawn for the SC2 minigames)")


def recording_name(env_id: str, episode: int, seed: int, fmt: str = "gif") -> str:
    """``<env>-ep<episode>-seed<seed>.<fmt>``, ``<env>`` the id without its namespace (``Sim-MoveToBeacon-v0``)."""
    return f"{env_id.rsplit('/', 1)[-1]}-ep{episode}-seed{seed}.{fmt}"


class EpisodeRecorder:
    """One episode's frames drawn in memory. Call :meth:`start` after ``reset()``, :meth:`step` after every
    ``step()``, :meth:`finish` for the encoded file. Attention given to :meth:`step` belongs to the observation the
    action was chosen from (the frame before the step)."""

    def __init__(self, env: gym.Env, fmt: str = "gif", width: int = 256) -> None:
        self.env: Any = env.unwrapped  # an env with frame() and action_view() (check_renderable)
        self.fmt, self.width = fmt, width
        self._images: list[Any] = []
        self._pending: Any = None

    def start(self) -> None:
        self._images = []
        self._pending = self.env.frame()

    def step(self, attention: Mapping[str, np.ndarray] | None = None) -> None:
        from envs.render import render

        frame = dataclasses.replace(self._pending, action=self.env.action_view())
        self._images.append(render(frame, attention, self.width))
        self._pending = self.env.frame()

    def finish(self, attention: Mapping[str, np.ndarray] | None = None) -> bytes:
        """The episode encoded (the last observation's frame has no action)."""
        from envs.render import encode_gif, encode_mp4, render

        self._images.append(render(self._pending, attention, self.width))
        images, self._images, self._pending = self._images, [], None
        if self.fmt == "mp4":
            return encode_mp4(images, fps=1000 // FRAME_MS)
        return encode_gif(images, duration_ms=FRAME_MS)


def write_recordings(directory: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``directory`` (created with its parents if missing): every file first to
    a hidden temporary name, then all renamed into place. On failure everything this call wrote or created is
    removed and ``ConfigError`` names ``--record``. Returns the paths."""
    created = [p for p in (directory, *directory.parents) if not p.exists()]
    temps: list[Path] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            temp = directory / f".{name}.{os.getpid()}.tmp"
            temps.append(temp)
            with open(temp, "xb") as f:
                f.write(data)
        paths = []
        for temp, name in zip(temps, files):
            os.replace(temp, directory / name)
            paths.append(directory / name)
        return paths
    except OSError as e:
        for temp in temps:
            with contextlib.suppress(OSError):
                temp.unlink()
        for path in created:  # deepest first
            with contextlib.suppress(OSError):
                path.rmdir()
        raise ConfigError(f"--record {directory}: cannot write there ({e.strerror or e})") from None
