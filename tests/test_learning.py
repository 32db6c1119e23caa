"""Learning guards: a change that breaks learning on the SC2 simulator fails CI (marked ``slow``: minutes)."""

from __future__ import annotations

import pytest

from agents.cli import CONFIGS_DIR, main

from cli_helpers import sets

MOVE_TO_BEACON_STEPS = 96_000
"""The committed config's greedy score passes 15 well before this (docs/results.md: its learning curve)."""


@pytest.mark.slow
def test_movetobeacon_point_targeting_learns_within_a_few_minutes(tmp_path):
    """PPO on ``configs/sim_movetobeacon_perceiver.yaml`` (point targeting only, seed 0) from scratch; the greedy
    policy then scores >= 15 on 10 held-out seeds (random legal actions score ~1, the scripted agent 26.7)."""
    import ray

    from agents.evaluate import evaluate

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        args = [f"runs_dir={tmp_path}", f"stop.env_steps={MOVE_TO_BEACON_STEPS}"]
        assert main(["train", str(CONFIGS_DIR / "sim_movetobeacon_perceiver.yaml"), *sets(args)]) == 0
    finally:
        ray.shutdown()
    (run_dir,) = list(tmp_path.iterdir())
    result = evaluate(run_dir, None, episodes=10, seed=10_000)
    assert result["mean"] >= 15, result["returns"]
