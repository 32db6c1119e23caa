"""Run directories: where one is created (``<runs_dir>/<name>-<YYYYmmdd-HHMMSS>``, its resolved ``config.yaml``
written first) and how a checkpoint finds the config of its run. The files inside are listed in
:mod:`agents.experiment.checkpoint`."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path

import yaml

from ..nets.config_values import ConfigError
from .config import ExperimentConfig
from .loader import load_saved_config


def check_runs_dir(cfg: ExperimentConfig) -> None:
    """``ConfigError`` naming ``runs_dir`` unless a run directory can be created under it: its nearest existing
    ancestor is a writable directory (checked before Ray starts; ``new_run_dir`` reports what is left)."""
    path = Path(cfg.runs_dir).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"runs_dir: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"runs_dir: {existing} is not writable")


def new_run_dir(cfg: ExperimentConfig) -> Path:
    """A new run directory for ``cfg`` holding its ``config.yaml``; ``ConfigError`` naming ``runs_dir`` when it
    cannot be created or written (nothing is left behind then)."""
    first = Path(cfg.runs_dir) / f"{cfg.name or 'run'}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir, suffix = first, 1
    while run_dir.exists():  # a run of the same name started in the same second: <name>-<time>.1, .2, ...
        run_dir = first.with_name(f"{first.name}.{suffix}")
        suffix += 1
    try:
        run_dir.mkdir(parents=True)
    except OSError as e:
        raise ConfigError(f"runs_dir: cannot create {run_dir} ({e.strerror or e})") from None
    try:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
    except OSError as e:  # e.g. a full disk: leave no half-written run directory
        shutil.rmtree(run_dir, ignore_errors=True)
        raise ConfigError(f"runs_dir: cannot write {run_dir / 'config.yaml'} ({e.strerror or e})") from None
    return run_dir


def run_dir_of(ckpt: Path) -> Path:
    """The run directory of checkpoint directory ``ckpt`` (``<run>/checkpoints/iter_N``)."""
    return ckpt.parent.parent


def load_run_config(ckpt: Path) -> ExperimentConfig:
    """The ``config.yaml`` of the run of checkpoint ``ckpt`` (safe YAML, older formats migrated, type- and
    range-checked); ``ConfigError`` naming the file."""
    return load_saved_config(run_dir_of(ckpt) / "config.yaml")
