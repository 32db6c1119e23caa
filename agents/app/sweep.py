"""The plan of a hyper-parameter sweep (``perceiver-rl tune``): ``--grid`` parsing, the trials (the grid's
cartesian product, times ``--samples`` seeds), their checks, and the results table. No Ray here: the runner
is :mod:`agents.app.tune`. No torch at import either (the config, which imports the model configs, is imported
when a trial is planned): ``perceiver-rl --help`` reads :data:`METRICS`.

``--grid training.lr=1e-4,3e-4`` gives a key and its values; each value is read exactly as ``--set key=value``
reads it (a YAML scalar, or a flow list such as ``[8,16]``: commas inside brackets or quotes do not split). Every
value, and then every trial, is checked as a config before anything is written: a bad key or value is one
``ConfigError`` naming ``--grid`` and the key.
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
    build (types, ranges, cross-checks); ``ConfigError`` (:func:`grid_error`) for the first that does not."""
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
    return trials


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
