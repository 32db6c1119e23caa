"""docs/rllib.md runs as written (one iteration, smaller batches): PPO and APPO from a plain RLlib script with
``perceiver_module_spec``, ``save_run`` -> ``perceiver-rl evaluate``, an RLlib checkpoint restored and saved, a run
directory back into an RLlib Algorithm / RLModule, and a user's env creator with an EnvRunner process and RLlib's
default module saved and loaded. The PPO block stays within 25 lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from agents.app.cli import main
from agents.experiment.checkpoint import TARGET_PREFIXES, resolve_checkpoint
from agents.rllib import save_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "rllib.md"
SIZES = re.compile(r"^iterations, batch = .*$", flags=re.M)


@pytest.fixture(scope="module")
def ray_session():
    """A local Ray session of 3 logical CPUs: the page's Algorithms stay alive until the end, and APPO's EnvRunner and
    learner actor hold 2 while the user-env example's EnvRunner asks for a third (with 2 it would wait forever)."""
    import ray

    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_ppo_block_is_at_most_25_lines_and_sets_the_sizes_once():
    ppo = [b for b in python_blocks() if "import PPOConfig" in b]  # the page's first example (later ones reuse it)
    assert len(ppo) == 1 and len(ppo[0].strip().splitlines()) <= 25
    assert len(SIZES.findall(ppo[0])) == 1


def test_the_page_runs(ray_session, tmp_path, monkeypatch, capsys):
    from ray.rllib.algorithms.algorithm import Algorithm

    monkeypatch.chdir(tmp_path)  # the page writes runs/ in the working directory
    namespace: dict = {}
    try:
        for block in python_blocks():
            block = SIZES.sub("iterations, batch = 1, 64", block)
            exec(compile(block, str(DOC), "exec"), namespace)
        assert namespace["result"]["env_runners"]["num_env_steps_sampled_lifetime"] >= 64
        run_dir = Path(namespace["run_dir"])
        assert run_dir.parent == Path("runs") and run_dir.name.startswith("movetobeacon-rllib-")
        assert sorted(p.name.split("-")[0] for p in Path("runs").iterdir()) == ["cartpole", "movetobeacon", "restored"]
        mlp_saved = yaml.safe_load((Path(namespace["mlp_dir"]) / "config.yaml").read_text())  # a creator's env
        assert (mlp_saved["env"], mlp_saved["model"]["module"]) == ("user_env/make_cartpole", "default")
        learner = namespace["mlp"].learner_group.get_weights()["default_policy"]
        assert namespace["mlp_module"].state_dict().keys() == learner.keys()
        assert main(["evaluate", str(run_dir), "--episodes", "1"]) == 0  # the page's shell block
        assert "perceiver_rl/Sim-MoveToBeacon-v0: mean return" in capsys.readouterr().out
        appo_dir = save_run(namespace["appo"], runs_dir="runs", name="appo")  # APPO: its fragment length, targets
        saved = yaml.safe_load((appo_dir / "config.yaml").read_text())
        assert (saved["algorithm"], saved["env_runners"]["rollout_fragment_length"]) == ("APPO", 50)
        assert any(
            k.startswith(TARGET_PREFIXES) for k in load_file(resolve_checkpoint(appo_dir) / "module.safetensors")
        )
        assert main(["evaluate", str(appo_dir), "--episodes", "1"]) == 0
    finally:
        for value in namespace.values():
            if isinstance(value, Algorithm):
                value.stop()
