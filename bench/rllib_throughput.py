"""RLlib sampling throughput: the Perceiver policy on token CartPole vs RLlib's default MLP module (issues 8, 15).

Both experiments are built from their YAML (``configs/cartpole_perceiver.yaml`` on
``perceiver_rl/Tokens-CartPole-v1``, ``configs/cartpole_mlp.yaml`` on raw ``CartPole-v1``) with the same
sampling settings (the local EnvRunner in this process, ``num_envs_per_env_runner`` vectorised envs, one
torch thread), and timed interleaved round-robin in the same run: env steps/s of
``algo.env_runner.sample(num_timesteps=K, explore=True)`` only (no learner update). Sampling runs in this
process, so the primary figure is its CPU time (``time.process_time``: steps per CPU-second, robust to
other work sharing the cores); wall-clock steps/s are shown beside. A component breakdown (the module's
``forward_exploration`` at the sampling batch size, the vectorised env stepping alone, both CPU time)
shows where the difference goes. Target: Perceiver >= 0.6x the MLP's steps/s.

A third row samples the SC2 simulator (``configs/sim_move_to_beacon_perceiver.yaml`` on
``perceiver_rl/Sim-MoveToBeacon-v0``: the AlphaStar module, structured actions, 64 x 64 planes) with its own
``num_envs_per_env_runner`` (16, its training setting), timed in the same round robin. RLlib's default MLP
is no reference there: it would read the 20,778 flattened observation values (its first layer alone costs
more than the whole AlphaStar module) and sample a Dict of five heads that ignore the action masks. The
figure an RL engineer plans with is what the policy and RLlib leave of the simulator's own rate:
``ratio_alphastar_sim_vs_env`` = RLlib sampling steps per CPU-second / steps per CPU-second of the same
vectorised env stepped alone with random actions (1.0: sampling costs nothing beyond the env). The CartPole
pair gets the same figure (``ratio_<name>_vs_env``) for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_json, print_table
from _rllib import build_algorithm, quiet_ray_env

CONTENDERS = {  # name -> (experiment, whether --envs overrides its num_envs_per_env_runner)
    "perceiver": ("cartpole_perceiver.yaml", True),
    "mlp": ("cartpole_mlp.yaml", True),
    "alphastar_sim": ("sim_move_to_beacon_perceiver.yaml", False),
}
TARGET = 0.6


def time_sampling(algos: dict, steps: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Per contender, median (CPU, wall) seconds per env step over ``repeats`` ``sample()`` calls of
    ``steps`` steps, the calls interleaved round-robin (one untimed warm-up call each)."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in algos}
    for rep in range(repeats + 1):
        for name, algo in algos.items():
            c, w = time.process_time(), time.perf_counter()
            episodes = algo.env_runner.sample(num_timesteps=steps, explore=True)
            cpu, wall = time.process_time() - c, time.perf_counter() - w
            taken = sum(len(e) for e in episodes)
            if rep:
                samples[name].append((cpu / taken, wall / taken))
    return {n: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v)) for n, v in samples.items()}


def cpu_per_call(fn, calls: int) -> float:
    """CPU seconds per call of ``fn`` (after a few warm-up calls)."""
    for _ in range(5):
        fn()
    c = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - c) / calls


def module_forward_s(algo, calls: int) -> float:
    """CPU seconds of one ``forward_exploration`` of the EnvRunner's module on its ``num_envs`` batch."""
    import numpy as np
    import torch
    from ray.rllib.core.columns import Columns

    runner = algo.env_runner
    obs, _ = runner.env.reset(seed=0)
    batch = {Columns.OBS: torch.utils._pytree.tree_map(lambda x: torch.as_tensor(np.asarray(x)), obs)}
    return cpu_per_call(lambda: runner.module.forward_exploration(batch), calls)


def env_step_s(algo, calls: int) -> float:
    """CPU seconds per vectorised step of the EnvRunner's env (id, ``env_config``, number of copies) alone,
    with random actions."""
    import gymnasium as gym

    import envs  # noqa: F401 - registers the perceiver_rl ids with gymnasium

    c = algo.config
    vec = gym.make_vec(c.env, num_envs=c.num_envs_per_env_runner, vectorization_mode="sync", **c.env_config)
    vec.reset(seed=0)
    try:
        return cpu_per_call(lambda: vec.step(vec.action_space.sample()), calls)
    finally:
        vec.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer, shorter samples (< 60 s)")
    p.add_argument(
        "--steps", type=int, default=None, help="env steps per timed sample() call (default 2000; quick 600)"
    )
    p.add_argument("--repeats", type=int, default=None, help="timed calls per contender (default 9; quick 5)")
    p.add_argument(
        "--envs",
        type=int,
        default=4,
        help="num_envs_per_env_runner of the CartPole pair (the simulator keeps its YAML's)",
    )
    args = p.parse_args()
    steps = args.steps or (600 if args.quick else 2000)
    repeats = args.repeats or (5 if args.quick else 9)

    quiet_ray_env()
    import ray
    import torch

    torch.set_num_threads(1)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    local = ["env_runners.num_env_runners=0"]
    vectorised = [f"env_runners.num_envs_per_env_runner={args.envs}"]
    algos = {name: build_algorithm(cfg, local + vectorised * override) for name, (cfg, override) in CONTENDERS.items()}
    try:
        times = time_sampling(algos, steps, repeats)
        rows, result = [], {"steps_per_call": steps, "repeats": repeats, "num_envs": args.envs, "target": TARGET}
        for name, algo in algos.items():
            cpu, wall = times[name]
            fwd = module_forward_s(algo, 100 if args.quick else 500)
            env = env_step_s(algo, 200 if args.quick else 1000)
            num_envs = algo.config.num_envs_per_env_runner
            per_vec_step = cpu * num_envs
            rows.append(
                {
                    "module": name,
                    "env": f"{algo.config.env} x {num_envs}",
                    "steps/s (CPU)": 1 / cpu,
                    "steps/s (wall)": 1 / wall,
                    "us/vec step": per_vec_step * 1e6,
                    "forward us": fwd * 1e6,
                    "env step us": env * 1e6,
                    "rest us": (per_vec_step - fwd - env) * 1e6,
                }
            )
            result[f"{name}_steps_per_s"] = round(1 / cpu, 1)
            result[f"{name}_steps_per_s_wall"] = round(1 / wall, 1)
            result[f"{name}_forward_us"] = round(fwd * 1e6, 1)
            result[f"ratio_{name}_vs_env"] = round(env / per_vec_step, 3)
        result["ratio_perceiver_vs_mlp"] = round(result["perceiver_steps_per_s"] / result["mlp_steps_per_s"], 3)
        print_table(rows)
        print(f"ratio perceiver / mlp = {result['ratio_perceiver_vs_mlp']:.3f} (CPU time; target >= {TARGET})")
        print(f"ratio alphastar_sim sampling / env alone = {result['ratio_alphastar_sim_vs_env']:.3f} (CPU time)")
        print_json(result)
    finally:
        for algo in algos.values():
            algo.stop()
        ray.shutdown()


if __name__ == "__main__":
    main()
