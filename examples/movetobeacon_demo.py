"""The main job (``make demo``): train the Perceiver IO policy on the MoveToBeacon simulator, evaluate it.

1. ``perceiver-rl train configs/sim_move_to_beacon_perceiver_unit.yaml`` (the minigame's raw action set: points and
   units, e.g. ``Move_unit`` on the beacon through the Perceiver's entity pointer) for a few minutes of wall time
   (point targeting alone, ``configs/sim_move_to_beacon_perceiver.yaml``, needs ~150k+ steps: docs/results.md);
2. greedy evaluation of the trained policy on held-out seeds, and the scripted optimal agent on the same seeds;
3. prints both beside the SC2LE reference rows; leaves TensorBoard logs and a learning-curve PNG in the run dir.

    python examples/movetobeacon_demo.py [--minutes 3] [--episodes 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "sim_move_to_beacon_perceiver_unit.yaml"
ENV_ID = "perceiver_rl/Sim-MoveToBeacon-v0"


def scripted_scores(episodes: int, seed: int) -> list[float]:
    """The scripted agent on the env the policy trained on (the config's ``env_config``)."""
    import envs
    from agents.experiment.loader import load_config
    from envs.sc2 import SCRIPTED_AGENTS, run_episode

    env = gym.make(ENV_ID, **load_config(CONFIG).env_config)
    agent = SCRIPTED_AGENTS["MoveToBeacon"](envs.contract_of(env)["act_spec"])
    try:
        return [run_episode(env, agent, seed=seed + i) for i in range(episodes)]
    finally:
        env.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=3.0, help="training wall-clock budget")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--runs-dir", default="runs")
    args = p.parse_args()

    from agents.app.cli import main as cli
    from agents.app.evaluate import evaluate
    from agents.app.plot import plot_learning_curves
    from agents.app.sc2le import reference_rows

    before = set(Path(args.runs_dir).glob(f"{CONFIG.stem}-*"))
    code = cli(
        ["train", str(CONFIG), "--set", f"stop.time_s={args.minutes * 60}", "--set", f"runs_dir={args.runs_dir}"]
    )
    if code:
        return code
    (run_dir,) = set(Path(args.runs_dir).glob(f"{CONFIG.stem}-*")) - before
    seed = 10_000  # evaluation seeds differ from the training episodes' seeds
    result = evaluate(run_dir, ENV_ID, args.episodes, seed=seed)
    scripted = scripted_scores(args.episodes, seed)
    png = plot_learning_curves(
        {"Perceiver IO policy (PPO)": run_dir},
        run_dir / "learning_curve.png",
        title="Sim-MoveToBeacon",
        references={"scripted optimal": float(np.mean(scripted)), "SC2LE human": 26.0},
    )
    print()
    print(f"MoveToBeacon simulator, {args.episodes} episodes (seeds {seed}..{seed + args.episodes - 1}):")
    print(f"  {'Perceiver IO policy (greedy)':<30} {result['mean']:6.1f} +- {result['std']:.1f}")
    print(f"  {'scripted optimal agent':<30} {np.mean(scripted):6.1f} +- {np.std(scripted):.1f}")
    print(f"  -> {100 * result['mean'] / max(np.mean(scripted), 1e-9):.0f} % of the scripted agent")
    print("SC2LE reference (real game):")
    for agent, score in reference_rows("MoveToBeacon"):
        print(f"  {agent:<30} {score:6g}")
    print(f"run directory {run_dir}: TensorBoard logs in tb/ (tensorboard --logdir {run_dir / 'tb'}), curve {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
