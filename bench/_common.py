"""Shared benchmark helpers: interleaved timing, sgemm peak, table + JSON output."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping

import torch


def time_interleaved(
    fns: Mapping[str, Callable[[], object]],
    *,
    repeats: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Median seconds per call of each ``fn``, the calls interleaved round-robin so that drift in the
    machine's speed (other load, frequency) hits every contender alike. ``clock``: wall clock by default;
    ``time.process_time`` counts this process's CPU time only (less disturbed by other load)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            samples[name].append(clock() - t0)
    return {name: statistics.median(s) for name, s in samples.items()}


def sgemm_peak_flops(n: int = 2048, repeats: int = 5) -> float:
    """The machine's fp32 matmul rate (FLOP/s) on an ``n x n`` sgemm, with the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = min(_timed(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * n**3 / best


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def print_table(rows: list[Mapping[str, object]]) -> None:
    cols = list(rows[0])
    widths = [max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in cols]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for r in rows:
        print("  ".join(_fmt(r[c]).ljust(w) for c, w in zip(cols, widths)))


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def print_json(result: Mapping[str, object]) -> None:
    print(json.dumps(result, sort_keys=True))
