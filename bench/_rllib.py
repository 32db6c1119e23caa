"""Shared helpers of the RLlib benchmarks: build an Algorithm from a ``configs/*.yaml`` experiment."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def quiet_ray_env() -> None:
    """One torch thread per process (the EnvRunner actors inherit the environment); no RLlib notices."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    logging.getLogger("ray.rllib").setLevel(logging.ERROR)


def build_algorithm(config: str, overrides: list[str]):
    """``configs/<config>`` with ``--set``-style ``overrides`` -> a built RLlib Algorithm (Ray must be up)."""
    from agents.experiment.loader import load_config
    from agents.rllib.build import algorithm_config

    cfg = load_config(ROOT / "configs" / config, overrides)
    return algorithm_config(cfg).build_algo()


def sampled_steps(result: dict) -> int:
    """Env steps sampled so far (lifetime) from an ``Algorithm.train()`` result."""
    return int(result.get("num_env_steps_sampled_lifetime", 0))
