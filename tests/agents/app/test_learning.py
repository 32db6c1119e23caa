"""Learning guards: a change that breaks learning on the SC2 simulator fails CI (marked ``slow``: minutes)."""

from __future__ import annotations

import pytest

from agents.app.cli import CONFIGS_DIR, main
from support.cli import sets

RUNS = [
    # config, env steps: both reach greedy >= 24 well within these budgets (docs/results.md, their curves)
    ("sim_move_to_beacon_perceiver_unit.yaml", 50_000),  # Perceiver IO, points + units: ~3 min
    ("sim_move_to_beacon_transformer.yaml", 96_000),  # transformer, point targeting only: ~3.5 min
]


@pytest.mark.slow
@pytest.mark.parametrize("config,steps", RUNS, ids=[c for c, _ in RUNS])
def test_movetobeacon_learns_within_a_few_minutes(tmp_path, ray_session, config, steps):
    """PPO on the committed config (seed 0) from scratch; the greedy policy then scores >= 15 on 10 held-out
    seeds (random legal actions score ~1, the scripted agent 26.7)."""
    from agents.app.evaluate import evaluate

    args = [f"runs_dir={tmp_path}", f"stop.env_steps={steps}"]
    assert main(["train", str(CONFIGS_DIR / config), *sets(args)]) == 0
    (run_dir,) = list(tmp_path.iterdir())
    result = evaluate(run_dir, None, episodes=10, seed=10_000)
    assert result["mean"] >= 15, result["returns"]
