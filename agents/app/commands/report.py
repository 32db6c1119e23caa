"""``perceiver-rl report RUN [--out FILE] [--episodes N] [--seed S] [--replays K]``: one self-contained HTML page
about a run (:mod:`agents.app.report`): its config, learning curves, an evaluation table (greedy and sampled, with
95 % intervals, beside the minigame's scripted agents and the SC2LE rows) and replays with attention."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import ConfigError, at_least, fail, quiet_ray


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    r = sub.add_parser("report", help="write an HTML report of a run: config, curves, evaluation, replays")
    r.add_argument("run_dir", metavar="RUN", help="a run directory (its latest checkpoint) or a checkpoint directory")
    r.add_argument("--out", type=Path, default=None, metavar="FILE", help="the HTML file (default: RUN/report.html)")
    r.add_argument("--episodes", type=at_least(1), default=20, metavar="N", help="episodes per agent (default 20)")
    r.add_argument(
        "--seed", type=at_least(0), default=10000, metavar="S", help="episode k plays seed S + k (default 10000)"
    )
    r.add_argument(
        "--replays", type=at_least(0), default=2, metavar="K", help="greedy episodes shown as replays (default 2)"
    )
    return r


def run(args: argparse.Namespace) -> int:
    quiet_ray()
    from ..report import report

    try:
        result = report(args.run_dir, args.out, args.episodes, seed=args.seed, replays=args.replays)
    except ConfigError as e:
        return fail(str(e))
    for row in result["rows"]:
        if row["episodes"]:
            lo, hi = row["ci95"] or (row["mean"], row["mean"])
            print(f"  {row['agent']:<28} {row['mean']:8.2f}  95 % [{lo:.2f}, {hi:.2f}]  ({row['episodes']} episodes)")
    print(f"report: {result['out']} ({result['seconds']:.0f} s)")
    return 0
