"""APPO throughput vs number of EnvRunners (issue 9.1): env steps/s with 1, 2 and 4 EnvRunners.

``configs/cartpole_perceiver_appo.yaml`` (Perceiver token module on ``perceiver_rl/Tokens-CartPole-v1``)
with ``env_runners.num_env_runners=N`` -- the same as ``perceiver-rl train ... --set
env_runners.num_env_runners=N``. One local Ray instance with ``num_cpus=max(N)`` logical CPUs so that
every EnvRunner (1 CPU each) can be scheduled even where the machine has fewer cores (the runners then
share them: oversubscription, reported as seen). The learner is local in this process. For each N: build,
run ``train()`` for a warm-up, then for ``--seconds`` of wall clock; env steps/s = sampled env steps
(``num_env_steps_sampled_lifetime``) / wall seconds, trained env steps/s likewise from the learner.

    python bench/rllib_scaling.py [--quick] [--runners 1 2 4] [--seconds S]

Prints a table, then one JSON line (last).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_json, print_table
from _rllib import build_algorithm, quiet_ray_env, sampled_steps

CONFIG = "cartpole_perceiver_appo.yaml"


def trained_steps(result: dict) -> int:
    """Env steps the learner has trained on so far (lifetime)."""
    return int(result.get("learners", {}).get("__all_modules__", {}).get("num_env_steps_trained_lifetime", 0))


def measure(num_runners: int, seconds: float, warmup_s: float) -> dict:
    """Build the APPO algorithm with ``num_runners`` EnvRunners and time ``train()`` for ``seconds``."""
    t0 = time.perf_counter()
    algo = build_algorithm(CONFIG, [f"env_runners.num_env_runners={num_runners}"])
    build_s = time.perf_counter() - t0
    try:
        result = algo.train()
        w = time.perf_counter()
        while time.perf_counter() - w < warmup_s or sampled_steps(result) == 0:
            result = algo.train()
        s0, l0, c0, t0 = sampled_steps(result), trained_steps(result), os.times(), time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            result = algo.train()
        wall = time.perf_counter() - t0
        c1 = os.times()
        return {
            "env_runners": num_runners,
            "env steps/s": (sampled_steps(result) - s0) / wall,
            "trained steps/s": (trained_steps(result) - l0) / wall,
            "driver CPU %": 100 * (c1.user + c1.system - c0.user - c0.system) / wall,
            "window s": wall,
            "build s": build_s,
        }
    finally:
        algo.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="shorter windows (see docs/benchmarks.md for its budget)")
    p.add_argument("--runners", type=int, nargs="+", default=[1, 2, 4], help="EnvRunner counts to measure")
    p.add_argument(
        "--seconds", type=float, default=None, help="timed wall-clock window per count (default 30; quick 5)"
    )
    args = p.parse_args()
    if min(args.runners) < 1:
        raise SystemExit("--runners: every count must be >= 1 (0 samples in the driver, not on EnvRunners)")
    seconds = args.seconds or (5.0 if args.quick else 30.0)
    warmup_s = 2.0 if args.quick else 10.0

    quiet_ray_env()
    import ray

    ray.init(num_cpus=max(args.runners), include_dashboard=False, log_to_driver=False)
    try:
        rows = [measure(n, seconds, warmup_s) for n in args.runners]
    finally:
        ray.shutdown()
    base = rows[0]["env steps/s"]
    for r in rows:
        r["speedup"] = r["env steps/s"] / base
    print(
        f"config: configs/{CONFIG}; machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"
    )
    print_table(rows)
    print_json(
        {
            "config": CONFIG,
            "cores": os.cpu_count(),
            "seconds": seconds,
            "env_steps_per_s": {str(r["env_runners"]): round(r["env steps/s"], 1) for r in rows},
            "trained_steps_per_s": {str(r["env_runners"]): round(r["trained steps/s"], 1) for r in rows},
            "speedup": {str(r["env_runners"]): round(r["speedup"], 3) for r in rows},
        }
    )


if __name__ == "__main__":
    main()
