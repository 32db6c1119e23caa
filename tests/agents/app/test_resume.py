"""A training process killed with SIGKILL resumes from its last checkpoint: counters, weights, TensorBoard."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from agents.app.cli import CONFIGS_DIR
from support.cli import TINY, sets

ROOT = Path(__file__).resolve().parents[3]
RUN_LONG = TINY[3:-1] + ["stop.iterations=200", "stop.env_steps=null", "stop.mean_return=null", "checkpoint_every=2"]


def _kill_after_checkpoint(runs_dir: Path, iteration: int, timeout: float = 300) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "agents.app.cli",
        "train",
        str(CONFIGS_DIR / "cartpole_perceiver.yaml"),
        *sets(RUN_LONG + [f"runs_dir={runs_dir}"]),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            latest = list(runs_dir.glob("*/checkpoints/latest"))
            progress = list(runs_dir.glob("*/progress.jsonl"))
            if latest and progress and latest[0].read_text() >= f"iter_{iteration:06d}":
                # Let it run past the checkpoint so that progress/TensorBoard rows exist beyond it.
                rows = progress[0].read_text().splitlines()
                if len(rows) > iteration:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(30)
                    return latest[0].parent.parent
            assert proc.poll() is None, "training exited before it could be killed"
            time.sleep(0.2)
        raise AssertionError("no checkpoint appeared in time")
    finally:
        if proc.poll() is None:
            proc.kill()
        try:  # the local Ray processes the killed driver started
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_sigkill_then_resume_continues_counters_weights_and_tensorboard(tmp_path):
    import ray
    import yaml

    from agents.app.tensorboard import scalar_series
    from agents.app.train import Trainer
    from agents.experiment.loader import config_from_dict

    run_dir = _kill_after_checkpoint(tmp_path, iteration=2)
    ckpt = run_dir / "checkpoints" / (run_dir / "checkpoints" / "latest").read_text()
    state = json.loads((ckpt / "state.json").read_text())
    before = scalar_series(run_dir / "tb", "train/episode_return_mean")
    assert max(s for s, _ in before) > state["env_steps"], "the killed run should have logged past its checkpoint"

    cfg = config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()))
    cfg.stop.iterations = state["iteration"] + 2
    interrupted = run_dir / "checkpoints" / ".tmp_iter_000099"  # what a kill during a save leaves
    (interrupted / "x").mkdir(parents=True)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        trainer = Trainer(cfg, run_dir, resume=True)  # the killed process's lock died with it
        assert not interrupted.exists(), "an interrupted save is removed when the run starts again"
        # The run directory describes what runs from here: the config as resumed, and where it changed.
        assert yaml.safe_load((run_dir / "config.yaml").read_text())["stop"]["iterations"] == state["iteration"] + 2
        record = json.loads((run_dir / "resumes.jsonl").read_text())
        assert record["iteration"] == state["iteration"] and record["changed"] == {
            "stop.iterations": [200, state["iteration"] + 2]
        }
        # Identical module weights (learner and the EnvRunner that samples) and optimizer state.
        saved = load_file(ckpt / "module.safetensors")
        live = trainer.module().state_dict()
        assert saved.keys() == live.keys()
        assert all(torch.equal(saved[k], live[k]) for k in saved)
        sampler = trainer.algo.get_module().state_dict()
        assert all(torch.equal(saved[k], sampler[k]) for k in sampler)
        optim = torch.load(ckpt / "optimizer.pt", weights_only=True)
        live_optim = trainer.get_weights()[1]
        assert optim and all(live_optim[n]["state"].keys() == o["state"].keys() for n, o in optim.items())
        assert trainer.counters.iteration == state["iteration"] and trainer.counters.env_steps == state["env_steps"]
        summary = trainer.train()
        trainer.close()
    finally:
        ray.shutdown()

    assert summary["iteration"] == state["iteration"] + 2
    assert summary["env_steps"] > state["env_steps"]
    rows = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == list(range(1, state["iteration"] + 3))
    steps = [s for s, _ in scalar_series(run_dir / "tb", "train/episode_return_mean")]
    assert steps == sorted(set(steps)), f"duplicated or rewound TensorBoard steps: {steps}"
    assert steps[: state["iteration"]][-1] == state["env_steps"]
    assert len(steps) == state["iteration"] + 2


def test_checkpoint_loading_refuses_pickle_payloads(tmp_path):
    from agents.experiment.checkpoint import Counters, load_checkpoint, save_checkpoint

    ckpt = save_checkpoint(tmp_path, Counters(iteration=1), {"w": torch.ones(2)}, {})
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"x": Payload()}, ckpt / "optimizer.pt")
    with pytest.raises(Exception, match="Weights only load failed|Unsupported global"):
        load_checkpoint(ckpt)
    assert not marker.exists()


@pytest.mark.parametrize(
    "expected,old,change",
    [
        (
            "policy.arguments.location_query.0.weight",
            "policy.arguments.location_out.weight",
            "the full-resolution location head",
        ),
        ("policy.heads.value_out.weight", "net.value_head.0.weight", "the one policy family"),  # the token module's
    ],
)
def test_a_checkpoint_from_before_an_architecture_change_is_named_as_such(expected, old, change):
    import torch

    from agents.experiment.checkpoint import weights_mismatch

    message = weights_mismatch({expected: torch.zeros(2, 2)}, {old: torch.zeros(4, 2)})
    assert f"unexpected: {old}" in message and f"predates {change}" in message


def test_a_perceiver_checkpoint_from_before_the_projected_pointer_keys_is_named_as_such():
    import torch

    from agents.experiment.checkpoint import weights_mismatch

    expected = {"policy.heads.entity_keys.weight": torch.zeros(2, 2)}
    old = {
        "policy.heads.entity_query.weight": torch.zeros(2, 2),
        "policy.torso.entity_encoder.entity_out.weight": torch.zeros(2, 2),
    }
    message = weights_mismatch(expected, old)
    assert "missing: policy.heads.entity_keys.weight" in message and "predates the leaner Perceiver policy" in message
    assert "predates the full-resolution location head" not in message


def test_target_network_weights_of_an_appo_checkpoint_are_left_out_when_initialising_without_targets():
    import torch
    from torch import nn

    from agents.experiment.checkpoint import fitting_state

    module = nn.Module()
    module.policy = nn.Linear(2, 2)
    state = {**module.state_dict(), "_target_policy.weight": torch.zeros(2, 2), "_target_policy.bias": torch.zeros(2)}
    assert set(fitting_state(module, state, "init")) == {"policy.weight", "policy.bias"}
