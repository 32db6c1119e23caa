"""The plan of a hyper-parameter sweep (``perceiver-rl tune``): ``--grid`` parsing, the trials (the grid's
cartesian product, times ``--samples`` seeds), their checks, and the results table. No Ray here: the runner
is :mod:`agents.app.tune`. No torch at import either (the config, which imports the model configs, is imported
when a trial is planned): ``perceiver-rl --help`` reads :data:`METRICS`.

``--grid training.lr=1e-4,3e-4`` gives a key and its values; each value is read exactly as ``--set key=value``
reads it (a YAML scalar, or a flow list such as ``[8,16]``: commas inside brackets or quotes do not split). Every
value, and then every trial, is checked as a config before anything is written: a bad key or value is one
``ConfigError`` naming ``--grid`` and the key. So is a grid whose trials would be the same experiment
(:func:`effective_experiment`, :func:`check_distinct`): a key the experiment does not read, two values that read as
the same value (``1e-3,0.001``), or any two trials that differ only in keys their experiment does not read.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..experiment.algorithms import ALGORITHM_SECTIONS
from ..nets.config_values import ConfigError

if TYPE_CHECKING:
    from ..experiment.config import ExperimentConfig

METRICS = ("episode_return_mean", "episode_len_mean", "env_steps_per_s", "policy_loss", "vf_loss", "entropy")
"""Columns of progress.jsonl a sweep can be ranked by (``--metric``); the last iteration's value counts."""


@dataclass(frozen=True)
class Trial:
    """One point of the sweep: its index, short label and the ``key=value`` overrides (as ``--set`` takes them)."""

    index: int
    overrides: tuple[tuple[str, str], ...]
    config: ExperimentConfig

    @property
    def label(self) -> str:
        """``003-lr=3e-4-encoder=transformer``: a file-name-safe name for the trial's run directory."""
        keys = [k for k, _ in self.overrides]
        short = [k.rsplit(".", 1)[-1] for k in keys]
        names = short if len(set(short)) == len(short) else keys
        parts = [f"{n}={v}" for n, (_, v) in zip(names, self.overrides)]
        return re.sub(r"[^\w.=+-]", "_", "-".join([f"{self.index:03d}", *parts]))[:120]


def _split_values(raw: str) -> list[str]:
    """``a,[1,2],'x,y'`` -> ``["a", "[1,2]", "'x,y'"]``: commas outside brackets and quotes separate values."""
    values, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(raw):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            values.append(raw[start:i].strip())
            start = i + 1
    values.append(raw[start:].strip())
    return values


def parse_grid(items: Iterable[str]) -> dict[str, list[str]]:
    """``["training.lr=1e-4,3e-4", ...]`` -> ``{"training.lr": ["1e-4", "3e-4"]}`` (values as text, for
    ``apply_overrides``); ``ConfigError`` naming ``--grid`` for a malformed item, a repeated key or value."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--grid {item}: expected KEY=V1,V2,... (e.g. training.lr=1e-4,3e-4)")
        if key in grid:
            raise ConfigError(f"--grid {key}: given twice")
        values = _split_values(raw)
        if "" in values:
            raise ConfigError(f"--grid {key}: an empty value in {raw!r}")
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ConfigError(f"--grid {key}: value {repeated[0]} given twice")
        grid[key] = values
    return grid


def _config(base: dict, overrides: Sequence[tuple[str, str]]) -> ExperimentConfig:
    from ..experiment.loader import apply_overrides, config_from_dict

    return config_from_dict(apply_overrides(copy.deepcopy(base), [f"{k}={v}" for k, v in overrides]))


def grid_error(e: ConfigError, overrides: Sequence[tuple[str, str]]) -> ConfigError:
    """``e`` (a trial's config failed) as one ``--grid`` line: ``--grid KEY: ...`` when ``e`` names a grid key,
    else ``--grid k1=v1, k2=v2: KEY: ...`` (the trial's values did not fit together or with the config)."""
    text = str(e)
    text = text[len("--set ") :] if text.startswith("--set ") else text  # apply_overrides names its option --set
    culprit = re.split(r"[:\[]", text, maxsplit=1)[0]
    if any(culprit == k or k.startswith(culprit + ".") or culprit.startswith(k + ".") for k, _ in overrides):
        return ConfigError(f"--grid {text}")
    return ConfigError(f"--grid {', '.join(f'{k}={v}' for k, v in overrides)}: {text}")


def plan_trials(base: ExperimentConfig, grid: dict[str, list[str]], samples: int = 1) -> list[Trial]:
    """The trials of ``grid`` over ``base`` (cartesian product, in ``--grid`` order), each repeated for ``samples``
    seeds ``base.seed, base.seed + 1, ...`` (an extra ``seed`` key when ``samples > 1``). Every trial's config must
    build (types, ranges, cross-checks); ``ConfigError`` (:func:`grid_error`) for the first that does not. No two
    trials may be the same experiment (:func:`check_distinct`)."""
    if samples > 1:
        if "seed" in grid:
            raise ConfigError("--samples: not with --grid seed=... (the samples are seeds seed, seed + 1, ...)")
        grid = {**grid, "seed": [str(base.seed + i) for i in range(samples)]}
    data = dataclasses.asdict(base)
    trials = []
    for index, combo in enumerate(itertools.product(*[[(k, v) for v in vs] for k, vs in grid.items()])):
        try:
            trials.append(Trial(index, tuple(combo), _config(data, combo)))
        except ConfigError as e:
            raise grid_error(e, combo) from None
    check_distinct(trials, grid)
    return trials


MODULE_SECTIONS = {"alphastar": "policy", "default": "default"}
"""``model.module`` -> the ``model:`` section it reads (``agents.rllib.build.MODULES[module][2]``, which imports
RLlib: a test checks they agree). A module not listed here (a plugin's) keeps every ``model:`` section."""
OVERLAPPED_ALGORITHMS = ("PPO",)
"""Algorithms that read ``env_runners.overlap`` (``agents.rllib.build.OVERLAPPED``; a test checks they agree)."""


def unread_keys(cfg: ExperimentConfig) -> dict[str, str]:
    """The keys (dotted; a section stands for all its keys) that a ``tune`` trial of ``cfg`` does not read, or whose
    value cannot change its training, each with the reason (see :func:`effective_experiment`)."""
    unread = {
        "runs_dir": "the key does not change the experiment: every trial's run directory is in the sweep "
        "directory, under the config's own runs_dir",
        "name": "the key does not change the experiment: every trial is named after its index and grid values",
        "evaluation": "the key does not change the experiment: evaluations during training only watch it (torch's "
        "random stream is restored after them)",
        "pretrain": "the key does not change the experiment: tune trials are train runs, which never read pretrain.*",
    }
    for algorithm, section in ALGORITHM_SECTIONS.items():
        if algorithm != cfg.algorithm:
            unread[section] = f"algorithm is {cfg.algorithm}; {section}.* is not read"
    if cfg.algorithm not in OVERLAPPED_ALGORITHMS:
        unread["env_runners.overlap"] = f"algorithm is {cfg.algorithm}; env_runners.overlap is read by PPO only"
    module = cfg.model.module
    if module in MODULE_SECTIONS:
        for other in sorted(set(MODULE_SECTIONS.values()) - {MODULE_SECTIONS[module]}):
            unread[f"model.{other}"] = f"model.module is {module}; model.{other}.* is not read"
        if module == "default":
            unread["model.max_seq_len"] = "model.module is default; model.max_seq_len is not read"
        elif module == "alphastar" and not cfg.model.policy.lstm:
            unread["model.max_seq_len"] = "model.policy.lstm is off; model.max_seq_len is not read"
    f = cfg.faults
    if f.crash_at_step is None and f.crash_prob == 0:
        unread["faults"] = "faults.crash_at_step is null and faults.crash_prob 0; faults.* is not read"
    return unread


def effective_experiment(cfg: ExperimentConfig) -> dict:
    """What a ``tune`` trial of ``cfg`` (a ``train`` run) actually trains: ``dataclasses.asdict(cfg)`` (the
    resolved, type-checked config, so ``1e-3`` and ``0.001`` are one float) without the keys that cannot change
    its outcome. Two trials with equal effective experiments are the same experiment. Dropped (:func:`unread_keys`):

    - ``runs_dir``, ``name``: where the run directory goes and what it is called; a trial's run directory is
      ``<sweep directory>/<index>-<grid values>-<timestamp>`` whatever they say (``agents.app.tune._trial_dirs``).
    - ``evaluation``: episodes played between iterations with the learner's weights; they restore torch's random
      stream and change nothing the learner or the EnvRunners see.
    - ``pretrain``: read by ``perceiver-rl pretrain`` only.
    - the sections of the other algorithms (``appo`` when ``algorithm`` is PPO): ``algorithm_config`` passes
      ``training`` and ``cfg.algorithm_section()`` only.
    - ``env_runners.overlap`` unless the algorithm is PPO: ``agents.rllib.build.OVERLAPPED`` has PPO alone (APPO
      overlaps as it is, with or without the key).
    - the ``model:`` sections of the other modules (``model.default`` when ``model.module`` is alphastar,
      ``model.policy`` when it is default): ``module_spec`` hands the module its own section only.
    - ``model.max_seq_len`` with the default module (not in its ``model_config``) or with alphastar without
      ``policy.lstm`` (RLlib reads it for stateful modules only; the module is stateful with an LSTM core only).
    - ``faults`` when no fault is injected (``crash_at_step`` null and ``crash_prob`` 0): the env is then not
      wrapped, so ``kill_process`` and ``seed`` are not read.

    Everything else is read by ``train`` (``checkpoint_every`` and ``torch_threads`` change its timing, which
    ``stop.time_s`` and ``--metric env_steps_per_s`` see; ``seed`` is how ``--samples`` repeats a trial)."""
    data = dataclasses.asdict(cfg)
    for key in unread_keys(cfg):
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node[part]
        node.pop(last)
    return data


def _canonical(value: object) -> object:
    """A hashable form of a plain value that tells types apart (an ``env_config`` entry ``1`` is not ``1.0`` nor
    ``true``); equal floats are equal (``0.001 == 1e-3``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), _canonical(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_canonical(v) for v in value))
    return (type(value).__name__, value)


_MISSING = object()


def _value_at(cfg: ExperimentConfig, key: str) -> object:
    """The value of dotted ``key`` in ``cfg`` (attributes, then mapping items such as ``env_config``'s)."""
    node: object = cfg
    for part in key.split("."):
        if isinstance(node, dict):
            node = node.get(part, _MISSING)
        else:
            node = getattr(node, part, _MISSING)
        if node is _MISSING:
            break
    return node


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:80] + " ..."


def _groups(trials: list[Trial], key: str) -> dict[tuple, list[Trial]]:
    """``trials`` grouped by their overrides of every key but ``key`` (a group: one trial per value of ``key``)."""
    groups: dict[tuple, list[Trial]] = {}
    for t in trials:
        groups.setdefault(tuple(kv for kv in t.overrides if kv[0] != key), []).append(t)
    return groups


def _reason(cfg: ExperimentConfig, keys: Iterable[str]) -> str:
    """Why ``keys`` are not read by ``cfg``'s experiment (:func:`unread_keys`), or a plain statement."""
    unread = unread_keys(cfg)
    reasons = []
    for key in keys:
        for prefix, why in unread.items():
            if (key == prefix or key.startswith(prefix + ".")) and why not in reasons:
                reasons.append(why)
    return "; ".join(reasons) or "the key does not change the experiment"


def check_distinct(trials: list[Trial], grid: dict[str, list[str]]) -> None:
    """``ConfigError`` unless every trial is a different experiment (:func:`effective_experiment`): per ``--grid``
    key, first two of its values that read as the same value (``--grid training.lr: values 1e-3 and 0.001 are the
    same (0.001)``), then a key no trial's experiment reads (``--grid runs_dir: trials would be identical (...)``),
    then any two trials with the same experiment, naming the keys in which they differ. Trials that differ in
    ``seed`` (``--samples``) are different experiments."""
    keys = [k for k in grid if len(grid[k]) > 1]
    for key in keys:
        first = next(iter(_groups(trials, key).values()))  # the other keys at their first values
        seen: dict[object, str] = {}
        for t in first:
            raw, value = dict(t.overrides)[key], _value_at(t.config, key)
            if value is _MISSING:
                break
            same = seen.setdefault(_canonical(value), raw)
            if same != raw:
                raise ConfigError(f"--grid {key}: values {same} and {raw} are the same ({_shown(value)})")
    effective = {t.index: _canonical(effective_experiment(t.config)) for t in trials}
    for key in keys:
        groups = _groups(trials, key).values()
        if all(len({effective[t.index] for t in group}) == 1 for group in groups):
            raise ConfigError(f"--grid {key}: trials would be identical ({_reason(trials[0].config, [key])})")
    seen_trials: dict[object, Trial] = {}
    for t in trials:
        other = seen_trials.setdefault(effective[t.index], t)
        if other is not t:
            differ = [k for (k, v), (_, w) in zip(other.overrides, t.overrides) if v != w]
            shared = [f"{k}={v}" for k, v in t.overrides if k not in differ and k in keys]
            a, b = (", ".join(f"{k}={v}" for k, v in trial.overrides if k in differ) for trial in (other, t))
            where = f" where {', '.join(shared)}" if shared else ""
            raise ConfigError(
                f"--grid {', '.join(differ)}: trials {a} and {b} would be identical{where} ({_reason(t.config, differ)})"
            )


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def rank(rows: list[dict], metric: str, mode: str) -> list[dict]:
    """``rows`` sorted best first by ``row[metric]`` (``mode`` ``max`` or ``min``); rows without a finite value
    (a failed trial, no episode finished) last, in their order."""
    finite = [r for r in rows if math.isfinite(_number(r.get(metric)))]
    rest = [r for r in rows if not math.isfinite(_number(r.get(metric)))]
    return sorted(finite, key=lambda r: _number(r[metric]), reverse=mode == "max") + rest


def _cell(value) -> str:
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def results_table(rows: list[dict], columns: Sequence[str]) -> str:
    """A plain-text table of ``rows`` (already ranked): a header, then one line per row, numbered from 1."""
    cells = [["rank", *columns]] + [[str(i), *(_cell(r.get(c)) for c in columns)] for i, r in enumerate(rows, 1)]
    widths = [max(len(line[j]) for line in cells) for j in range(len(cells[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) if j else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))).rstrip()
        for line in cells
    )
