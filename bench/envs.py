"""Environment throughput: the pysc2-protocol simulator (through the gymnasium adapter) and the token wrappers.

For each simulated minigame: env steps/s of ``gymnasium.make("perceiver_rl/Sim-<map>-v0")`` driven by
the scripted agent (agent time excluded), with the default direct observation path (``steps_per_s``) and
with the protocol path (``sim_observations="protocol"``: protos -> pysc2's ``transform_obs``,
``protocol_steps_per_s``); the pysc2-level ``SimSC2Env.step`` alone (direct path); the time per step the
direct path spends writing the observation (``direct_obs_us``) and pysc2's ``features.transform_obs`` on the
protocol path's protos (``transform_obs_us``). Token envs: steps/s with and without the wrapper.
Pinned to one CPU core. Times are CPU time of this process (``time.process_time``), i.e. steps/s of
one dedicated core even when other work shares the machine; wall-clock steps/s are reported beside.
Prints a table, then one JSON line; its ``sim_defeatroaches_steps_per_s`` is DefeatRoaches on the full protocol path
(``protocol_steps_per_s`` of its row: combat simulation, protos, pysc2's ``transform_obs``, the contract), the
combat maps' speed target.

    .venv/bin/python bench/envs.py [--quick] [--steps N] [--core C]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# This file is called envs.py: drop bench/ from the path so that `import envs` finds the package.
_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != _here]
sys.path.insert(0, str(Path(_here).parent))

import gymnasium as gym  # noqa: E402

import envs  # noqa: E402
from envs.sc2.scripted import SCRIPTED_AGENTS  # noqa: E402
from envs.sim.catalog import SIM_MAPS  # noqa: E402

TOKEN_ENVS = {"perceiver_rl/Tokens-CartPole-v1": "CartPole-v1", "perceiver_rl/Tokens-MiniGrid-DoorKey-5x5-v0": None}


clock = time.process_time


def _timed_steps(env, act, steps: int, seed: int = 0) -> tuple[float, float, int]:
    """CPU and wall seconds spent inside ``env.reset`` / ``env.step`` over ``steps`` steps, and episodes finished."""
    cpu, wall, episodes = 0.0, 0.0, 0
    c, w = clock(), time.perf_counter()
    obs, _ = env.reset(seed=seed)
    cpu, wall = cpu + clock() - c, wall + time.perf_counter() - w
    for _ in range(steps):
        action = act(obs)
        c, w = clock(), time.perf_counter()
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
            episodes += 1
        cpu, wall = cpu + clock() - c, wall + time.perf_counter() - w
    return cpu, wall, episodes


def bench_sim(map_name: str, steps: int) -> dict:
    env = gym.make(f"perceiver_rl/Sim-{map_name}-v0")  # the default: direct observations
    agent = SCRIPTED_AGENTS[map_name](envs.contract_of(env)["act_spec"])
    spent, wall, episodes = _timed_steps(env, agent.act, steps)
    protocol_env = gym.make(f"perceiver_rl/Sim-{map_name}-v0", sim_observations="protocol")
    agent.reset()
    protocol_spent, protocol_wall, _ = _timed_steps(protocol_env, agent.act, steps)
    # pysc2-level: the same scripted actions, converted once per step outside the clock
    timings = {}
    for path, gym_env in (("direct", env), ("protocol", protocol_env)):
        sim, converter = gym_env.unwrapped._env, gym_env.unwrapped.converter
        agent.reset()
        obs, _ = converter.observation(sim.reset()[0])
        sim_spent = obs_spent = 0.0
        for _ in range(steps):
            call, _ = converter.action(agent.act(obs))
            t = clock()
            ts = sim.step([call])[0]
            sim_spent += clock() - t
            t = clock()
            if path == "direct":
                sim._direct.build(*sim._state)  # the direct path's observation, again
            else:
                sim._features.transform_obs(sim._response)  # pysc2's transform of the protocol path's protos, again
            obs_spent += clock() - t
            obs, _ = converter.observation(sim.reset()[0] if ts.step_type == 2 else ts)
        timings[path] = (sim_spent, obs_spent)
    env.close()
    protocol_env.close()
    (sim_spent, direct_spent), (_, transform_spent) = timings["direct"], timings["protocol"]
    return {
        "env": f"perceiver_rl/Sim-{map_name}-v0",
        "steps_per_s": steps / spent,
        "wall_steps_per_s": steps / wall,
        "protocol_steps_per_s": steps / protocol_spent,
        "protocol_wall_steps_per_s": steps / protocol_wall,
        "pysc2_env_steps_per_s": steps / sim_spent,
        "direct_obs_us": 1e6 * direct_spent / steps,
        "transform_obs_us": 1e6 * transform_spent / steps,
        "episodes": episodes,
    }


def bench_tokens(env_id: str, base_id: str | None, steps: int) -> dict:
    env = gym.make(env_id)
    env.action_space.seed(0)
    spent, wall, _ = _timed_steps(env, lambda _: env.action_space.sample(), steps)
    row = {"env": env_id, "steps_per_s": steps / spent, "wall_steps_per_s": steps / wall}
    if base_id is not None:
        base = gym.make(base_id)
        base.action_space.seed(0)
        base_spent, _, _ = _timed_steps(base, lambda _: base.action_space.sample(), steps)
        row["unwrapped_steps_per_s"] = steps / base_spent
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (under 60 s)")
    parser.add_argument("--steps", type=int, default=None, help="env steps per measurement")
    parser.add_argument("--core", type=int, default=None, help="CPU core to pin to (default: the last allowed one)")
    args = parser.parse_args()
    steps = args.steps or (1500 if args.quick else 10000)
    if hasattr(os, "sched_setaffinity"):
        core = args.core if args.core is not None else max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
    rows = [bench_sim(m, steps) for m in SIM_MAPS]
    rows += [bench_tokens(e, b, steps) for e, b in TOKEN_ENVS.items()]

    columns = (
        "steps_per_s", "wall_steps_per_s", "protocol_steps_per_s", "pysc2_env_steps_per_s", "direct_obs_us",
        "transform_obs_us", "unwrapped_steps_per_s",
    )  # fmt: skip
    titles = (
        "steps/s (CPU)", "steps/s (wall)", "protocol steps/s", "pysc2 env steps/s", "direct obs us", "transform_obs us",
        "unwrapped steps/s",
    )  # fmt: skip
    print(f"{'env':46s} " + " ".join(f"{t:>17s}" for t in titles))
    for r in rows:
        print(f"{r['env']:46s} " + " ".join(f"{r[k]:17.0f}" if k in r else f"{'-':>17s}" for k in columns))
    summary = {
        "sim_defeatroaches_steps_per_s": next(
            r["protocol_steps_per_s"] for r in rows if "Sim-DefeatRoaches" in r["env"]
        )
    }
    print(json.dumps({"bench": "envs", "steps": steps, "cpu": platform.processor() or platform.machine(), "one_core": True,
                      **summary, "rows": rows}))  # fmt: skip


if __name__ == "__main__":
    main()
