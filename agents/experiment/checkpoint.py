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

Reading is hostile-input safe: nothing is unpickled (safetensors; ``torch.load(weights_only=True)``), and a
missing or dangling ``latest``, a truncated or foreign file, malformed counters, weights that do not fit
the model or are not finite all raise one :class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..nets.config_values import ConfigError, first_line


class CheckpointError(ConfigError):
    """A checkpoint or run directory that cannot be used; the message names the file (or the option that
    gave it). A ``ConfigError``: the command line reports it in one line with exit status 2."""


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
    """A checkpoint directory, or a run directory (-> its latest checkpoint); ``CheckpointError`` when there is
    none or ``latest`` dangles (names no checkpoint directory of this run)."""
    p = Path(path)
    if (p / "module.safetensors").is_file():
        return p
    latest = p / "checkpoints" / "latest"
    if not latest.is_file():
        raise CheckpointError(f"no checkpoint at {p} (expected module.safetensors or checkpoints/latest)")
    name = _read(latest, lambda f: f.read_text().strip(), "text file")
    ckpt = latest.parent / name
    if not name or name in (".", "..") or "/" in name or "\\" in name or not (ckpt / "module.safetensors").is_file():
        raise CheckpointError(
            f"{latest}: names {name[:60]!r}, which is not a checkpoint directory beside it (dangling)"
        )
    return ckpt


def _read(path: Path, reader: Callable[[Path], Any], what: str) -> Any:
    """``reader(path)``; any failure (missing, truncated, foreign format, refused pickle) becomes one
    ``CheckpointError`` naming ``path`` and the first line of the reason."""
    try:
        return reader(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except Exception as e:  # safetensors, torch and json each raise their own types
        raise CheckpointError(f"{path}: not a valid {what} ({first_line(e)})") from None


def _counters(path: Path) -> Counters:
    data = json.loads(path.read_text())
    fields = {f.name: f.type for f in dataclasses.fields(Counters)}
    if not isinstance(data, dict) or not {"iteration", "env_steps"} <= set(data) <= set(fields):
        raise ValueError(f"expected a mapping with iteration, env_steps and at most {', '.join(fields)}")
    for key, value in data.items():
        kinds = (int,) if fields[key] == "int" else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
            raise ValueError(f"{key}: expected a number >= 0, got {value!r}")
    return Counters(**data)


def load_checkpoint(ckpt: Path) -> tuple[Counters, dict[str, torch.Tensor], dict]:
    """Read a checkpoint without unpickling arbitrary objects (safetensors + ``weights_only=True``);
    ``CheckpointError`` naming the file that is missing or unreadable."""
    counters = _read(ckpt / "state.json", _counters, "counters file (state.json)")
    module_state = _read(ckpt / "module.safetensors", load_file, "safetensors file")
    optimizer_state = {}
    if (ckpt / "optimizer.pt").exists():
        optimizer_state = _read(
            ckpt / "optimizer.pt", lambda f: torch.load(f, weights_only=True), "optimizer state file"
        )
    return counters, module_state, optimizer_state


def weights_mismatch(
    expected: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor], limit: int = 2
) -> str | None:
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
    if not parts:
        return None
    for change, keys in LEGACY_KEYS.items():
        if any(k.endswith(keys) for k in unexpected):
            parts.append(f"the checkpoint predates {change}: retrain it")
    return "; ".join(parts)


LEGACY_KEYS = {
    "the full-resolution location head (Nov 2026)": ("arguments.location_out.weight", "arguments.location_ar.weight"),
    "the leaner Perceiver policy (Nov 2026: pointer keys projected, no per-entity Conv1D)": (
        "heads.entity_query.weight",
        "torso.entity_encoder.entity_out.weight",  # unexpected only where the encoder is the Perceiver
    ),
    "the one policy family (Nov 2026: token envs use module alphastar)": ("net.value_head.0.weight",),
}
"""Parameters that only checkpoints written before an architecture change have, by change."""


TARGET_PREFIXES = ("_target_policy.", "_target_net.")
"""Where our RLModules keep their target networks (APPO): an APPO checkpoint loaded into a module without
them (``--init-from`` into a PPO config) leaves these keys out."""


def target_network_keys(module) -> set[str]:
    """``state_dict`` keys of ``module``'s target networks (APPO's learner makes them), else empty."""
    try:
        targets = {id(t) for _, t in module.get_target_network_pairs()}
    except (AttributeError, NotImplementedError):  # none made (PPO) or no TargetNetworkAPI
        return set()
    return {
        f"{name}.{key}" if name else key
        for name, sub in module.named_modules()
        if id(sub) in targets
        for key in sub.state_dict()
    }


def fitting_state(
    module, state: Mapping[str, torch.Tensor], source: str, *, targets: bool = False
) -> dict[str, torch.Tensor]:
    """The weights of ``state`` that ``module`` loads (``load_state_dict(..., strict=False)``), once they have
    exactly its keys and shapes and are finite; else ``CheckpointError`` naming ``source`` and the first
    mismatching / non-finite keys. ``targets``: target-network weights (APPO) must be there too (resume);
    otherwise they are left out on both sides (they start as copies of the online ones)."""
    left_out = set() if targets else target_network_keys(module)
    expected = {k: v for k, v in module.state_dict().items() if k not in left_out}
    given = {k: v for k, v in state.items() if k not in left_out and (targets or not k.startswith(TARGET_PREFIXES))}
    problem = weights_mismatch(expected, given)
    if problem:
        raise CheckpointError(f"{source}: its weights do not fit this config's model ({problem})")
    bad = sorted(k for k, v in given.items() if v.is_floating_point() and not torch.isfinite(v).all())
    if bad:
        more = f" (+{len(bad) - 2} more)" if len(bad) > 2 else ""
        raise CheckpointError(f"{source}: its weights contain NaN or inf ({', '.join(bad[:2])}{more})")
    return given
