"""Run-directory checkpoints: module weights in safetensors, optimizer state loaded with ``weights_only=True``.

Layout of a run directory::

    runs/<name>-<YYYYmmdd-HHMMSS>/
      config.yaml              the resolved experiment config (after --set overrides)
      progress.jsonl           one JSON line per training iteration
      tb/                      TensorBoard event files (tensorboardX)
      checkpoints/
        iter_000010/           one complete checkpoint
          module.safetensors   RLModule weights
          optimizer.pt         optimizer state dicts (tensors + plain values only)
          state.json           counters: iteration, env_steps, restarts, wall time
        latest                 the name of the newest complete checkpoint

A checkpoint is written to a temporary directory and renamed into place, and ``latest`` is replaced
atomically, so a run killed at any moment leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

import torch
from safetensors.torch import load_file, save_file


@dataclass
class Counters:
    """Progress that must survive a resume."""

    iteration: int = 0
    env_steps: int = 0
    restarts: int = 0
    wall_time_s: float = 0.0


def save_checkpoint(
    run_dir: Path, counters: Counters, module_state: dict[str, torch.Tensor], optimizer_state: dict
) -> Path:
    ckpt_root = run_dir / "checkpoints"
    name = f"iter_{counters.iteration:06d}"
    final, tmp = ckpt_root / name, ckpt_root / f".tmp_{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in module_state.items()}, tmp / "module.safetensors")
    torch.save(optimizer_state, tmp / "optimizer.pt")
    (tmp / "state.json").write_text(json.dumps(asdict(counters)))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    latest_tmp = ckpt_root / ".latest.tmp"
    latest_tmp.write_text(name)
    os.replace(latest_tmp, ckpt_root / "latest")
    return final


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory, or a run directory (-> its latest checkpoint)."""
    p = Path(path)
    if (p / "module.safetensors").is_file():
        return p
    latest = p / "checkpoints" / "latest"
    if latest.is_file():
        return p / "checkpoints" / latest.read_text().strip()
    raise FileNotFoundError(f"no checkpoint at {p} (expected module.safetensors or checkpoints/latest)")


def run_dir_of(ckpt: Path) -> Path:
    return ckpt.parent.parent


def load_checkpoint(ckpt: Path) -> tuple[Counters, dict[str, torch.Tensor], dict]:
    """Read a checkpoint without unpickling arbitrary objects (safetensors + ``weights_only=True``)."""
    counters = Counters(**json.loads((ckpt / "state.json").read_text()))
    module_state = load_file(ckpt / "module.safetensors")
    optimizer_state = torch.load(ckpt / "optimizer.pt", weights_only=True) if (ckpt / "optimizer.pt").exists() else {}
    return counters, module_state, optimizer_state


def weights_mismatch(expected: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor], limit: int = 2) -> str | None:
    """None when ``given`` has exactly the keys and shapes of ``expected`` (a module's ``state_dict``);
    otherwise one line naming the first ``limit`` missing, unexpected and mis-shaped keys."""

    def some(keys: list[str]) -> str:
        more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
        return ", ".join(keys[:limit]) + more

    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    shapes = [
        f"{k} {tuple(given[k].shape)} != {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(given))
        if tuple(given[k].shape) != tuple(expected[k].shape)
    ]
    parts = [
        f"{what}: {some(keys)}"
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape", shapes))
        if keys
    ]
    return "; ".join(parts) or None
