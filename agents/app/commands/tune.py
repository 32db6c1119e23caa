"""``perceiver-rl tune CONFIG.yaml --grid KEY=V1,V2 [--grid ...] [--set a.b=c ...] [--samples N] [--metric M]
[--mode max|min] [--address ADDR]``: a hyper-parameter sweep with Ray Tune, one run directory per trial (the plan:
:mod:`agents.app.sweep`; running it: :mod:`agents.app.tune`). Every trial is checked like ``train``'s config,
and no two trials may be the same experiment (``sweep.check_distinct``), before Ray starts; at the end the trials
are printed best first by ``--metric``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

from ..sweep import METRICS, parse_grid, plan_trials, results_table
from .common import ConfigError, at_least, fail, in_ray_session, quiet_ray


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    t = sub.add_parser("tune", help="hyper-parameter sweep with Ray Tune (one run directory per trial)")
    t.add_argument("config", help="experiment YAML (configs/*.yaml)")
    t.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="values of a config key to sweep, e.g. training.lr=1e-4,3e-4",
    )
    t.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key in every trial"
    )
    t.add_argument("--samples", type=at_least(1), default=1, help="seeds per grid point (seed, seed + 1, ...)")
    t.add_argument(
        "--metric", choices=METRICS, default="episode_return_mean", help="progress.jsonl column that ranks the trials"
    )
    t.add_argument("--mode", choices=("max", "min"), default="max", help="whether a larger --metric is better")
    t.add_argument("--address", default=None, help="Ray cluster address (e.g. auto or HOST:6379)")
    return t


def run(args: argparse.Namespace) -> int:
    """Check every trial, start (or join) Ray, run the sweep, print the ranked table."""
    from ...experiment.loader import load_config

    try:
        base = load_config(args.config, args.set)
        trials = plan_trials(base, parse_grid(args.grid), args.samples)
        quiet_ray()
        logging.getLogger("ray.tune").setLevel(logging.WARNING)  # "Wrote the latest version of all result files ..."
        import ray

        from ...experiment.run_dir import new_run_dir
        from ..tune import check_cluster_fits, check_trials, run_sweep

        requests = check_trials(trials)
    except ConfigError as e:
        return fail(str(e))

    def setup() -> Path:
        check_cluster_fits(requests)
        return new_run_dir(dataclasses.replace(base, name=f"{base.name or 'run'}-tune"))

    def work(sweep_dir: Path) -> int:
        cpus = max(r.required_resources.get("CPU", 0) for r in requests.values())
        print(f"sweep directory: {sweep_dir} ({len(trials)} trials of up to {cpus:g} CPUs each; "
              f"Ray cluster CPUs: {ray.cluster_resources().get('CPU', 0):g})", flush=True)  # fmt: skip
        (sweep_dir / "sweep.json").write_text(json.dumps(
            {"config": str(args.config), "set": args.set, "grid": args.grid, "samples": args.samples,
             "metric": args.metric, "mode": args.mode}, indent=1))  # fmt: skip
        rows = run_sweep(trials, requests, sweep_dir, args.metric, args.mode)
        keys = [k for k, _ in trials[0].overrides]
        print(f"\ntrials by {args.metric} ({args.mode}, last iteration):")
        print(results_table(rows, ["trial", *keys, "status", "iteration", "env_steps", args.metric]))
        print(f"results: {sweep_dir / 'results.json'}")
        return 0 if all(r["status"] == "done" for r in rows) else 1

    return in_ray_session(args.address, setup, work)
