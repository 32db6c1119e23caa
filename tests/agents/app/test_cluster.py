"""Distributed rollouts: `perceiver-rl train --address` on a real two-node local Ray cluster (issue 9.1).

The cluster is ``ray.cluster_utils.Cluster``: a 1-CPU head node and a second 1-CPU node, each a real
raylet + object store (own processes, own node id) on this host. An EnvRunner takes 1 CPU, so two
EnvRunners can only be scheduled one per node. The command line runs as its own process, as a user
would run it. Everything the cluster writes (session dirs, the ``ray_current_cluster`` address file that
a bare ``ray.init()`` reads) lives under a private ``RAY_TMPDIR``, so no other Ray user on the machine
finds this cluster.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from agents.app.cli import CONFIGS_DIR

ROOT = CONFIGS_DIR.parent

ITERATIONS = 3
BATCH = 128


@pytest.fixture
def two_node_cluster(monkeypatch):
    """A head (1 CPU) + worker (1 CPU) cluster; torn down (all its processes killed) even if the test fails."""
    import ray
    from ray.cluster_utils import Cluster

    assert not ray.is_initialized(), "another test left a Ray session open"
    # Short path: Ray's unix sockets live under the temp dir (a 107-byte limit).
    tmp = tempfile.mkdtemp(prefix="prl-", dir="/tmp")
    monkeypatch.setenv("RAY_TMPDIR", tmp)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    cluster = Cluster()
    nodes = []
    try:
        nodes.append(cluster.add_node(num_cpus=1, include_dashboard=False))
        nodes.append(cluster.add_node(num_cpus=1))
        cluster.wait_for_nodes()
        yield cluster, {node.node_id for node in nodes}
    finally:
        cluster.shutdown()  # kills every process of both nodes (raylets take their workers with them)
        shutil.rmtree(tmp, ignore_errors=True)
    assert not any(node.any_processes_alive() for node in nodes)


def test_train_with_address_runs_env_runners_on_both_nodes(two_node_cluster, tmp_path):
    cluster, node_ids = two_node_cluster
    assert len(node_ids) == 2
    overrides = [
        f"stop.iterations={ITERATIONS}",
        "stop.env_steps=null",
        "stop.mean_return=null",
        "env_runners.num_env_runners=2",
        "env_runners.num_envs_per_env_runner=1",
        f"training.train_batch_size_per_learner={BATCH}",
        "training.minibatch_size=64",
        "training.num_epochs=1",
        "checkpoint_every=100",
        f"runs_dir={tmp_path}",
    ]
    argv = ["train", str(CONFIGS_DIR / "cartpole_perceiver.yaml"), "--address", cluster.address]
    argv += [a for o in overrides for a in ("--set", o)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "agents.app.cli", *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "EnvRunners: 2 on 2 node(s)" in out
    (run_dir,) = tmp_path.iterdir()
    info = json.loads((run_dir / "cluster.json").read_text())
    assert info["num_nodes"] == 2 and len(info["env_runner_nodes"]) == 2
    assert set(info["env_runner_nodes"]) == node_ids  # one EnvRunner on the head, one on the second node

    progress = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()]
    assert [p["iteration"] for p in progress] == list(range(1, ITERATIONS + 1))
    steps = [p["env_steps"] for p in progress]
    assert all(b - a >= BATCH for a, b in zip([0] + steps, steps)), steps
    assert all(p["healthy_env_runners"] == 2 and p["restarts"] == 0 for p in progress)
    assert (run_dir / "checkpoints" / "latest").read_text() == f"iter_{ITERATIONS:06d}"
