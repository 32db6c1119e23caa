"""pysc2's own agents on the simulator, through pysc2's own ``run_loop``, beside the published real-game scores.

The agents of ``pysc2_evolved/agents/scripted_agent.py`` (``MoveToBeacon``, ``CollectMineralShards``,
``CollectMineralShardsFeatureUnits``, ``DefeatRoaches``) and ``random_agent.RandomAgent``, unmodified, play
``SimSC2Env`` (protocol path) with pysc2's feature-layer interface: the ``AgentInterfaceFormat`` of pysc2's agent
binary (feature screen 84, minimap 64, camera width 24), feature units, no raw actions; ``step_mul`` 8. Episode ``i``
uses simulator seed ``i`` (and ``numpy.random.seed(i)`` for the random agent). Prints a table (mean +- std over the
episodes, the published real-game mean, the ratio) and one JSON line with the per-episode scores and the time of
the run (the combat model changes: DefeatRoaches scores are dated).

Published means (the real game):

- ``SC2LE random`` / ``SC2LE human``: Vinyals et al. 2017, "StarCraft II: A New Challenge for Reinforcement
  Learning" (arXiv:1708.04782), the mini-games table: "Random policy" and "DeepMind human player" mean scores;
- ``pysc2 random agent``: pysc2's ``RandomAgent`` on the game, starcraft2-ai/rl-battle ``README.md`` ("random agent",
  mean) and starcraft2-ai/comparison ``README.md`` (commit 9107e47f, DefeatRoaches "Random agent" mean 1.81).
- ``pysc2 issue 153``: google-deepmind/pysc2 issue #153 (2018-03-18), ``CollectMineralShards`` "~90" (approximate, no
  settings given);
- ``roop-pal table``: roop-pal/Meta-Learning-for-StarCraft-II-Minigames ``doc/table.PNG``, DefeatRoaches about 108 as
  issue 25 quotes it (an image we could not read; possibly that project's own scripted agent).

    .venv/bin/python bench/pysc2_agents.py [--episodes 20] [--only scripted|random]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import io
import json
import sys
import time
from pathlib import Path

# This folder holds envs.py: drop it from the path so that `import envs` finds the package (as bench/envs.py does).
_here = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != _here]
sys.path.insert(0, str(Path(_here).parent))

import numpy as np  # noqa: E402

from envs.pysc2_compat import PYSC2_MODULE, features, sc2_env  # noqa: E402
from envs.sim.env import SimSC2Env  # noqa: E402

SCREEN, MINIMAP, STEP_MUL = 84, 64, 8
SCRIPTED = (
    ("MoveToBeacon", "MoveToBeacon"),
    ("CollectMineralShards", "CollectMineralShards"),
    ("CollectMineralShards", "CollectMineralShardsFeatureUnits"),
    ("DefeatRoaches", "DefeatRoaches"),
)
"""``(map, scripted agent class)`` pairs."""
RANDOM_MAPS = ("MoveToBeacon", "CollectMineralShards", "FindAndDefeatZerglings", "DefeatRoaches",
               "DefeatZerglingsAndBanelings")  # fmt: skip
PUBLISHED: dict[tuple[str, str], dict[str, float]] = {
    ("MoveToBeacon", "RandomAgent"): {"SC2LE random": 1, "SC2LE human": 26, "pysc2 random agent": 1.2},
    ("CollectMineralShards", "RandomAgent"): {"SC2LE random": 17, "SC2LE human": 133, "pysc2 random agent": 18.5},
    ("FindAndDefeatZerglings", "RandomAgent"): {"SC2LE random": 4, "SC2LE human": 46},
    ("DefeatRoaches", "RandomAgent"): {"SC2LE random": 1, "SC2LE human": 41, "pysc2 random agent": 1.81},
    ("DefeatZerglingsAndBanelings", "RandomAgent"): {"SC2LE random": 23, "SC2LE human": 729, "pysc2 random agent": 18.1},
    ("CollectMineralShards", "CollectMineralShards"): {"pysc2 issue 153": 90},
    ("DefeatRoaches", "DefeatRoaches"): {"roop-pal table": 108},
}  # fmt: skip
"""Real-game mean scores by ``(map, agent)`` (sources in the module docstring)."""


def interface_format() -> sc2_env.AgentInterfaceFormat:
    """pysc2's agent binary's default feature interface, with feature units, without raw actions."""
    return sc2_env.AgentInterfaceFormat(
        feature_dimensions=features.Dimensions(screen=SCREEN, minimap=MINIMAP), use_feature_units=True
    )


def agent_class(name: str) -> type:
    module = "random_agent" if name == "RandomAgent" else "scripted_agent"
    return getattr(importlib.import_module(f"{PYSC2_MODULE}.agents.{module}"), name)


def play(map_name: str, agent_name: str, seed: int, aif: sc2_env.AgentInterfaceFormat | None = None) -> float:
    """One episode of ``agent_name`` on ``map_name`` through pysc2's ``run_loop`` (``aif``: default
    :func:`interface_format`); returns its score."""
    run_loop = importlib.import_module(f"{PYSC2_MODULE}.env.run_loop").run_loop
    np.random.seed(seed)
    aif = aif or interface_format()
    env = SimSC2Env(map_name=map_name, agent_interface_format=aif, step_mul=STEP_MUL, random_seed=seed)
    agent = agent_class(agent_name)()
    with contextlib.redirect_stdout(io.StringIO()):  # run_loop prints its frame rate
        run_loop([agent], env, max_episodes=1)
    env.close()
    return float(agent.reward)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="episodes per agent (seeds 0..N-1)")
    parser.add_argument("--only", choices=("scripted", "random"), help="run only these agents")
    args = parser.parse_args()
    cases = [] if args.only == "random" else list(SCRIPTED)
    cases += [] if args.only == "scripted" else [(m, "RandomAgent") for m in RANDOM_MAPS]
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    rows = []
    for map_name, agent_name in cases:
        t0 = time.perf_counter()
        scores = [play(map_name, agent_name, seed) for seed in range(args.episodes)]
        published = PUBLISHED.get((map_name, agent_name), {})
        rows.append({"map": map_name, "agent": agent_name, "mean": float(np.mean(scores)), "std": float(np.std(scores)),
                     "scores": scores, "published": published, "seconds": time.perf_counter() - t0})  # fmt: skip
    print(f"{'map':<28} {'agent':<34} {'sim mean +- std':>18}  published real-game means")
    for r in rows:
        refs = ", ".join(f"{k} {v:g}" for k, v in r["published"].items()) or "-"
        print(f"{r['map']:<28} {r['agent']:<34} {r['mean']:>9.2f} +- {r['std']:<6.2f}  {refs}")
    print(json.dumps({"bench": "pysc2_agents", "episodes": args.episodes, "step_mul": STEP_MUL, "screen": SCREEN,
                      "minimap": MINIMAP, "started_utc": started, "rows": rows}, sort_keys=True))  # fmt: skip


if __name__ == "__main__":
    main()
