"""What evaluations and replays during training cost (issue 28): ``perceiver-rl train`` of a committed config with
its default ``evaluation:`` section (greedy episodes every ``evaluation.every`` iterations, a replay with attention
at each) against the same run with ``evaluation.every=0``, alternating round by round so that both see the same
machine. The figure is env steps/s over the whole run (the last progress row's ``env_steps_per_s``: evaluation time
included, as a user waits for it); the overhead is ``1 - with / without`` of the medians.

    .venv/bin/python bench/record_overhead.py                                  # MoveToBeacon, 25 iterations, 2 rounds
    .venv/bin/python bench/record_overhead.py --config sim_defeat_roaches_perceiver.yaml --iterations 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(config: str, iterations: int, extra: list[str]) -> dict:
    """One ``perceiver-rl train`` of ``config`` for ``iterations`` iterations; its last progress row."""
    with tempfile.TemporaryDirectory() as runs:
        sets = [f"runs_dir={runs}", f"stop.iterations={iterations}", "stop.env_steps=null", "stop.mean_return=null",
                f"checkpoint_every={iterations}", *extra]  # fmt: skip
        cmd = [sys.executable, "-m", "agents.app.cli", "train", str(ROOT / "configs" / config)]
        cmd += [a for s in sets for a in ("--set", s)]
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
        (progress,) = Path(runs).glob("*/progress.jsonl")
        rows = [json.loads(line) for line in progress.read_text().splitlines()]
        replays = sorted(p.relative_to(progress.parent) for p in progress.parent.glob("replays/*/*.gif"))
        return {**rows[-1], "evaluations": sum("eval_return_mean" in r for r in rows), "replays": len(replays)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="sim_move_to_beacon_perceiver.yaml")
    p.add_argument("--iterations", type=int, default=25, help="iterations per run (the default evaluates once)")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    results: dict[str, list[dict]] = {"with": [], "without": []}
    for _ in range(args.rounds):
        results["without"].append(run(args.config, args.iterations, ["evaluation.every=0"]))
        results["with"].append(run(args.config, args.iterations, []))
    speed = {k: statistics.median(r["env_steps_per_s"] for r in v) for k, v in results.items()}
    out = {
        "config": args.config,
        "iterations": args.iterations,
        "rounds": args.rounds,
        "env_steps_per_s_with_evaluation": speed["with"],
        "env_steps_per_s_without": speed["without"],
        "overhead": 1 - speed["with"] / speed["without"],
        "evaluations_per_run": results["with"][0]["evaluations"],
        "replays_per_run": results["with"][0]["replays"],
        "runs": {k: [round(r["env_steps_per_s"], 1) for r in v] for k, v in results.items()},
    }
    print(f"{'setting':<28}{'env steps/s (median)':>22}  runs")
    for k in ("without", "with"):
        print(f"{'evaluation ' + ('on (default)' if k == 'with' else 'off (every=0)'):<28}{speed[k]:>22.1f}  "
              f"{out['runs'][k]}")  # fmt: skip
    print(
        f"overhead {out['overhead']:.1%} ({out['evaluations_per_run']} evaluation(s), {out['replays_per_run']} replay(s))"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
