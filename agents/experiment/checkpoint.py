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

Reading is hostile-input safe: nothing is unpickled (safetensors; ``torch.load(weights_only=True)``), only regular
files of a bounded size are opened (a FIFO or a device in a run directory is refused, not read), and a missing or
dangling ``latest``, a truncated or foreign file, malformed counters, an optimizer state that is malformed or not
finite, weights that do not fit the model, have another kind of dtype or are not finite *in the module's dtype* all
raise one :class:`CheckpointError` naming the file. Writing refuses non-finite weights or optimizer state
(:class:`DivergedError`): ``latest`` only ever names a finite checkpoint. Saves interrupted by a kill leave
``.tmp_iter_N`` directories; :func:`clean_interrupted_saves` removes them when the run starts again.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import stat
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


class DivergedError(CheckpointError):
    """Training produced NaN or inf weights or optimizer state: nothing is saved, ``latest`` keeps naming the last
    finite checkpoint."""


TMP_PREFIX = ".tmp_"
"""Checkpoints are written under ``checkpoints/.tmp_<name>`` and renamed into place."""


def save_checkpoint(
    run_dir: Path, counters: Counters, module_state: dict[str, torch.Tensor], optimizer_state: dict
) -> Path:
    """Write checkpoint ``iter_<counters.iteration>`` and point ``latest`` at it; ``DivergedError`` (nothing
    written) when a weight or an optimizer value is NaN or inf."""
    ckpt_root = run_dir / "checkpoints"
    name = f"iter_{counters.iteration:06d}"
    problem = non_finite_weights(module_state) or optimizer_state_problem(optimizer_state)
    if problem:
        latest = ckpt_root / "latest"
        kept = latest.read_text().strip() if latest.is_file() else "none"
        raise DivergedError(
            f"{run_dir}: training diverged at iteration {counters.iteration} ({problem}); not saved, "
            f"the last checkpoint ({kept}) is kept"
        )
    final, tmp = ckpt_root / name, ckpt_root / f"{TMP_PREFIX}{name}"
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


def clean_interrupted_saves(run_dir: Path) -> list[Path]:
    """Remove what saves killed half-way left in ``run_dir/checkpoints`` (``.tmp_iter_N`` directories, a
    ``.latest.tmp``); the paths removed. Called by the run's one writer (``run_lock``) when it starts."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    left = [p for p in root.iterdir() if p.name.startswith(TMP_PREFIX) or p.name == ".latest.tmp"]
    for p in left:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return left


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory, or a run directory (-> its latest checkpoint); ``CheckpointError`` when there is
    none or ``latest`` dangles (names no checkpoint directory of this run)."""
    p = Path(path)
    if (p / "module.safetensors").exists():  # a file that is not regular is refused when it is read
        return p
    latest = p / "checkpoints" / "latest"
    if not latest.exists():
        raise CheckpointError(f"no checkpoint at {p} (expected module.safetensors or checkpoints/latest)")
    name = _read(latest, lambda f: f.read_text().strip(), "text file")
    ckpt = latest.parent / name
    if not name or name in (".", "..") or "/" in name or "\\" in name or not (ckpt / "module.safetensors").exists():
        raise CheckpointError(
            f"{latest}: names {name[:60]!r}, which is not a checkpoint directory beside it (dangling)"
        )
    return ckpt


def memory_bytes() -> int:
    """This machine's physical memory in bytes (no file larger than that can be loaded)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: no bound from here
        return 1 << 62


def available_memory_bytes() -> int:
    """Memory this machine can still give a new allocation (``MemAvailable`` of /proc/meminfo; elsewhere the
    physical memory)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return memory_bytes()


SIZE_LIMITS = {"latest": 4096, "state.json": 1 << 16}
"""Largest size in bytes of the small files of a checkpoint; weights and optimizer state: :func:`memory_bytes`."""


def check_regular_file(path: Path, limit: int | None = None) -> None:
    """``CheckpointError`` unless ``path`` (after symlinks) is a regular file of at most ``limit`` bytes (default:
    the machine's memory): a FIFO would block a reader and a device would read forever. ``FileNotFoundError``
    when it does not exist."""
    info = os.stat(path)  # never blocks, unlike opening a FIFO
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path}: not a regular file (a device, FIFO or directory is never read)")
    limit = SIZE_LIMITS.get(path.name, memory_bytes()) if limit is None else limit
    if info.st_size > limit:
        raise CheckpointError(f"{path}: {info.st_size:,} bytes, more than the {limit:,} such a file may have")


def _read(path: Path, reader: Callable[[Path], Any], what: str) -> Any:
    """``reader(path)`` of a regular file of bounded size (:func:`check_regular_file`); any failure (missing,
    truncated, foreign format, refused pickle) becomes one ``CheckpointError`` naming ``path`` and the first line
    of the reason."""
    try:
        check_regular_file(path)
        return reader(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    except CheckpointError:
        raise
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
        problem = optimizer_state_problem(optimizer_state)
        if problem:
            raise CheckpointError(f"{ckpt / 'optimizer.pt'}: {problem}")
    return counters, module_state, optimizer_state


def non_finite_weights(state: Mapping[str, torch.Tensor], limit: int = 2) -> str | None:
    """None when every floating / complex tensor of ``state`` is finite; else ``NaN or inf in k1, k2 (+n more)``."""
    bad = sorted(
        k for k, v in state.items() if (v.is_floating_point() or v.is_complex()) and not torch.isfinite(v).all()
    )
    if not bad:
        return None
    more = f" (+{len(bad) - limit} more)" if len(bad) > limit else ""
    return f"NaN or inf in {', '.join(bad[:limit])}{more}"


OPTIMIZER_HYPERPARAMETERS = {"lr": 0.0, "eps": 0.0, "weight_decay": 0.0}
"""Optimizer ``param_groups`` entries that must be finite numbers >= the value given (when present)."""


def optimizer_state_problem(state: Any) -> str | None:
    """None when ``state`` is what ``save_checkpoint`` writes: ``{name: optimizer.state_dict()}`` (``state``: a mapping
    of parameter index to named tensors / numbers; ``param_groups``: a list of mappings), every tensor and number
    finite and ``lr``, ``eps``, ``weight_decay`` >= 0; else one line naming the first offending entry."""
    if not isinstance(state, dict):
        return f"expected a mapping of optimizer name to its state, got {type(state).__name__}"
    for name, opt in state.items():
        if not isinstance(name, str) or not isinstance(opt, dict) or set(opt) != {"state", "param_groups"}:
            return f"{name!r}: expected an optimizer state dict (keys 'state' and 'param_groups')"
        if not isinstance(opt["state"], dict) or not isinstance(opt["param_groups"], list):
            return f"{name}: 'state' must be a mapping and 'param_groups' a list"
        for index, entry in opt["state"].items():
            if not isinstance(index, int) or not isinstance(entry, dict):
                return f"{name}.state: expected parameter index -> mapping, got {index!r}"
            problem = _values_problem(f"{name}.state.{index}", entry)
            if problem:
                return problem
        for i, group in enumerate(opt["param_groups"]):
            if not isinstance(group, dict) or not isinstance(group.get("params"), list):
                return f"{name}.param_groups.{i}: expected a mapping with a 'params' list"
            problem = _values_problem(f"{name}.param_groups.{i}", {k: v for k, v in group.items() if k != "params"})
            if problem:
                return problem
            for key, minimum in OPTIMIZER_HYPERPARAMETERS.items():
                value = group.get(key, minimum)
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value < minimum:
                    return f"{name}.param_groups.{i}.{key}: expected >= {minimum:g}, got {value!r}"
    return None


def _values_problem(where: str, values: dict) -> str | None:
    """The first entry of ``values`` (tensors, numbers, flags, strings, None, tuples of numbers) that is not finite
    or not of those kinds; None when all are fine."""
    for key, value in values.items():
        items = value if isinstance(value, (tuple, list)) else (value,)
        for item in items:
            if isinstance(item, torch.Tensor):
                finite = not (item.is_floating_point() or item.is_complex()) or bool(torch.isfinite(item).all())
            elif isinstance(item, float):
                finite = math.isfinite(item)
            elif item is None or isinstance(item, (bool, int, str)):
                finite = True
            else:
                return f"{where}.{key}: unexpected value of type {type(item).__name__}"
            if not finite:
                return f"{where}.{key}: NaN or inf"
    return None


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
    """The weights of ``state`` that ``module`` loads (``load_state_dict(..., strict=False)``), converted to the
    module's dtypes, once they have exactly its keys and shapes, the same kind of dtype (float into float: int, bool
    or complex into float is refused, not cast) and are finite *after* the conversion (float64 1e300 is inf in
    float32); else ``CheckpointError`` naming ``source`` and the first mismatching / non-finite keys. ``targets``:
    target-network weights (APPO) must be there too (resume); otherwise they are left out on both sides (they
    start as copies of the online ones)."""
    left_out = set() if targets else target_network_keys(module)
    expected = {k: v for k, v in module.state_dict().items() if k not in left_out}
    given = {k: v for k, v in state.items() if k not in left_out and (targets or not k.startswith(TARGET_PREFIXES))}
    problem = weights_mismatch(expected, given)
    if problem:
        raise CheckpointError(f"{source}: its weights do not fit this config's model ({problem})")
    kinds = [
        f"{k} {given[k].dtype} != {expected[k].dtype}"
        for k in sorted(given)
        if _dtype_kind(given[k].dtype) != _dtype_kind(expected[k].dtype)
    ]
    if kinds:
        more = f" (+{len(kinds) - 2} more)" if len(kinds) > 2 else ""
        raise CheckpointError(
            f"{source}: its weights do not fit this config's model (dtype: {', '.join(kinds[:2])}{more})"
        )
    converted = {k: v.to(expected[k].dtype) for k, v in given.items()}
    problem = non_finite_weights(converted)
    if problem:
        raise CheckpointError(
            f"{source}: its weights contain NaN or inf in the model's dtype ({problem.removeprefix('NaN or inf in ')})"
        )
    return converted


def _dtype_kind(dtype: torch.dtype) -> str:
    """bool, int, float or complex: what a cast between dtypes of different kinds would silently change."""
    if dtype == torch.bool:
        return "bool"
    if dtype.is_complex:
        return "complex"
    return "float" if dtype.is_floating_point else "int"
