"""Shared settings of the tests that run real (tiny) trainings through the command line."""

import hashlib
from pathlib import Path

TINY = [
    "stop.iterations=2",
    "stop.env_steps=null",
    "stop.mean_return=null",
    "training.train_batch_size_per_learner=128",
    "training.minibatch_size=64",
    "training.num_epochs=1",
    "env_runners.num_envs_per_env_runner=1",
    "checkpoint_every=1",
]
"""``--set`` overrides that make any config a tiny 2-iteration run."""


def sets(items: list[str]) -> list[str]:
    """``["a=1", "b=2"]`` -> ``["--set", "a=1", "--set", "b=2"]``."""
    return [a for item in items for a in ("--set", item)]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` -> (kind, size, mtime_ns, sha256 of a file's bytes)."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        out[str(path.relative_to(root))] = (path.is_dir(), st.st_size, st.st_mtime_ns, digest)
    return out
