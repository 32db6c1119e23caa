"""``perceiver-rl evaluate CHECKPOINT [--env ID] [--episodes N] [--seed S] [--sample] [--record DIR
[--record-format gif|mp4]] [--json]``: episodes with a checkpoint's policy (:mod:`agents.app.evaluate`), mean +- std,
and the SC2LE reference rows for a minigame; ``--record`` writes every episode's replay (:mod:`agents.app.replay`).
No Ray cluster is needed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import ConfigError, at_least, fail, quiet_ray


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    e = sub.add_parser("evaluate", help="run episodes with a checkpoint's policy")
    e.add_argument("checkpoint", help="a checkpoint directory or a run directory (its latest checkpoint)")
    e.add_argument("--env", default=None, help="env id or MODULE:ID (default: the run's env)")
    e.add_argument("--episodes", type=at_least(1), default=10)
    e.add_argument("--seed", type=at_least(0), default=0)
    e.add_argument("--sample", action="store_true", help="sample actions from the policy instead of the greedy ones")
    e.add_argument(
        "--record", type=Path, default=None, metavar="DIR",
        help="write each episode's replay to DIR/<env>-ep<k>-seed<s>.gif (SC2 minigames, real or simulated)",
    )  # fmt: skip
    e.add_argument(
        "--record-format", choices=("gif", "mp4"), default="gif",
        help="replay format: gif (default) or mp4 (needs imageio-ffmpeg)",
    )  # fmt: skip
    e.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    return e


def run(args: argparse.Namespace) -> int:
    from ...experiment.config import MAX_SEED

    if args.seed + args.episodes - 1 > MAX_SEED:  # episode k plays seed S + k: numpy's seeds end at 2**32
        return fail(
            f"argument --seed: expected --seed + --episodes - 1 <= {MAX_SEED:,}, got {args.seed + args.episodes - 1:,}"
        )
    quiet_ray()
    from ..evaluate import evaluate
    from ..sc2le import minigame_of, reference_rows

    try:
        result = evaluate(
            args.checkpoint, args.env, args.episodes, seed=args.seed, explore=args.sample, record=args.record,
            record_format=args.record_format,
        )  # fmt: skip
    except ConfigError as e:
        return fail(str(e))
    mode = "sampled" if args.sample else "greedy"
    print(
        f"{result['env']}: mean return {result['mean']:.2f} +- {result['std']:.2f} over {args.episodes} episodes ({mode} actions)"
    )
    game = minigame_of(result["env"])
    if game:
        print(f"SC2LE reference ({game}):")
        for agent, score in reference_rows(game):
            print(f"  {agent:<28} {score:g}")
    if args.record is not None:
        print(f"replays: {len(result['recordings'])} {args.record_format.upper()} files in {args.record}")
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "config"}))
    return 0
