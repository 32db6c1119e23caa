"""How far each modelling choice of the combat simulator moves a score: the scripted baselines under model variants.

The simulator is not the game (docs/envs.md, "Differences from the game"); this script puts a number on the
differences that are parameters of the model. Each variant changes one thing against the model as committed
(``as modelled``) and replays the same episodes (seeds 0..N-1) with the contract's scripted agents
(``envs/sc2/scripted_combat.py``: attack-move, focus fire, split) and, on DefeatRoaches, pysc2's own
``DefeatRoachesRaw`` (unmodified, through pysc2's ``run_loop`` on ``SimSC2Env``'s raw interface). Variants:

- ``no attack delay``: damage at the start of an attack, no missile (the model before issue 25);
- ``attack delay x2``: twice the damage points and half the missile speed (what an error in the data would do);
- ``tick 1 loop``: the combat resolved every game loop, not every 2 (time resolution);
- ``zerg acquire 4`` / ``zerg acquire 6``: the Zerg units' acquisition range (5, the weapons' default
  ``MinScanRange``; how the engine combines it with the weapon range is not documented), one less / more;
- ``no zerg regeneration``: Zerg life regeneration (0.38 / s) off.

Prints a table (mean +- std per agent and variant, and the change against ``as modelled``) and one JSON line.

    .venv/bin/python bench/sim_fidelity.py [--episodes 20] [--maps DefeatRoaches,...]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pysc2_agents import play  # bench/pysc2_agents.py: one episode of a pysc2 agent through run_loop

from envs.pysc2_compat import features
from envs.sc2.env import SC2MinigameEnv
from envs.sc2.scripted import run_episode
from envs.sc2.scripted_combat import COMBAT_AGENTS
from envs.sim.combat import units
from envs.sim.combat.rules import CombatRules

MAX_ENTITIES = {"FindAndDefeatZerglings": 32, "DefeatRoaches": 48, "DefeatZerglingsAndBanelings": 64}
"""The configs' entity slots (docs/envs.md's scripted table uses the same)."""
ZERG = (units.ROACH, units.ZERGLING, units.BANELING)


@contextlib.contextmanager
def _stats(change: Callable[[units.UnitStats], dict]) -> Iterator[None]:
    """Every unit type's statistics replaced by ``dataclasses.replace(stats, **change(stats))`` (``{}``: kept)."""
    saved = dict(units.UNIT_STATS)
    try:
        for key, stats in saved.items():
            units.UNIT_STATS[key] = dataclasses.replace(stats, **change(stats))
        yield
    finally:
        units.UNIT_STATS.update(saved)


@contextlib.contextmanager
def _tick(loops: int) -> Iterator[None]:
    saved = CombatRules.TICK
    CombatRules.TICK = loops
    try:
        yield
    finally:
        CombatRules.TICK = saved


def _zerg(**values) -> Callable[[units.UnitStats], dict]:
    return lambda s: values if any(s.unit_type == z.unit_type for z in ZERG) else {}


VARIANTS: dict[str, Callable[[], contextlib.AbstractContextManager]] = {
    "as modelled": contextlib.nullcontext,
    "no attack delay": lambda: _stats(lambda s: {"damage_point": 0.0, "missile_speed": 0.0}),
    "attack delay x2": lambda: _stats(lambda s: {"damage_point": 2 * s.damage_point, "missile_speed": s.missile_speed / 2}),
    "tick 1 loop": lambda: _tick(1),
    "zerg acquire 4": lambda: _stats(_zerg(scan_range=4.0)),
    "zerg acquire 6": lambda: _stats(_zerg(scan_range=6.0)),
    "no zerg regeneration": lambda: _stats(_zerg(regeneration=0.0)),
}  # fmt: skip


def _pysc2_raw_agent(episodes: int) -> list[float]:
    """pysc2's ``DefeatRoachesRaw`` through its ``run_loop`` on the simulator's raw interface, one episode per seed."""
    aif = features.AgentInterfaceFormat(
        feature_dimensions=features.Dimensions(screen=84, minimap=64), use_raw_units=True, use_raw_actions=True
    )
    return [play("DefeatRoaches", "DefeatRoachesRaw", seed, aif) for seed in range(episodes)]


def measure(maps: list[str], episodes: int) -> dict[str, dict[str, list[float]]]:
    """``{variant: {"<map> <agent>": scores}}``."""
    results: dict[str, dict[str, list[float]]] = {}
    for variant, apply in VARIANTS.items():
        with apply():
            rows = results[variant] = {}
            for name in maps:
                env = SC2MinigameEnv(name, backend="sim", max_selected=8, max_entities=MAX_ENTITIES[name])
                for agent in COMBAT_AGENTS[name]:
                    scores = [run_episode(env, agent(env.act_spec), seed=i) for i in range(episodes)]
                    rows[f"{name} {agent.__name__}"] = scores
                env.close()
                if name == "DefeatRoaches":
                    rows["DefeatRoaches pysc2 DefeatRoachesRaw"] = _pysc2_raw_agent(episodes)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--maps", default=",".join(MAX_ENTITIES), help="comma-separated combat maps")
    args = parser.parse_args()
    maps = args.maps.split(",")
    unknown = sorted(set(maps) - set(MAX_ENTITIES))
    if unknown:
        parser.error(f"--maps: unknown {unknown}; valid: {', '.join(MAX_ENTITIES)}")
    start = time.time()
    results = measure(maps, args.episodes)
    base = {row: float(np.mean(s)) for row, s in results["as modelled"].items()}
    print(f"{'agent':52s} " + " ".join(f"{v:>22s}" for v in VARIANTS))
    for row in base:
        cells = []
        for variant in VARIANTS:
            s = results[variant][row]
            delta = "" if variant == "as modelled" else f" ({np.mean(s) - base[row]:+.1f})"
            cells.append(f"{np.mean(s):.1f}+-{np.std(s):.1f}{delta}".rjust(22))
        print(f"{row:52s} " + " ".join(cells))
    summary = {
        "episodes": args.episodes, "seconds": round(time.time() - start, 1),
        "mean": {v: {r: round(float(np.mean(s)), 2) for r, s in rows.items()} for v, rows in results.items()},
        "std": {v: {r: round(float(np.std(s)), 2) for r, s in rows.items()} for v, rows in results.items()},
    }  # fmt: skip
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
