"""``plugins:``: a user's encoder and env id, registered in their own modules and named in YAML, train through
``perceiver-rl train`` with EnvRunner processes, which import the modules before making the env and building the
policy."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from safetensors.torch import load_file

from agents.app.cli import CONFIGS_DIR, main
from agents.experiment.checkpoint import resolve_checkpoint
from support.cli import TINY, sets

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = ROOT / "tests" / "support" / "plugins"
"""A folder of user modules (not a package of the tests): ``plugin_encoder`` registers the ``plugin_deepsets`` entity
encoder, ``plugin_env`` the gymnasium id ``plugin/Tokens-CartPole-v1``."""


def test_a_plugin_encoder_and_env_train_through_the_command_line_with_two_env_runners(tmp_path):
    plugin = [
        "plugins=[plugin_encoder, plugin_env]",
        "model.policy.encoder=plugin_deepsets",
        "env=plugin/Tokens-CartPole-v1",
    ]
    overrides = [*TINY, "env_runners.num_env_runners=2", *plugin, f"runs_dir={tmp_path}"]
    # The plugin's folder reaches the EnvRunner processes through PYTHONPATH, as a user's package would be installed.
    path = os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    cli = [str(Path(sys.executable).with_name("perceiver-rl")), "train", str(CONFIGS_DIR / "cartpole_perceiver.yaml")]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    proc = subprocess.Popen([*cli, *sets(overrides)], cwd=tmp_path, env=env, start_new_session=True, **pipes)
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        try:  # Ray processes a failed run may leave behind
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, err[-3000:]
    assert "EnvRunners: 2 on 1 node(s)" in out, out[-2000:]
    (run_dir,) = tmp_path.glob("cartpole_perceiver-*")
    rows = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in rows] == [1, 2] and rows[-1]["env_steps"] >= 256
    assert rows[-1]["healthy_env_runners"] == 2 and rows[-1]["env_runner_restarts"] == 0
    weights = load_file(resolve_checkpoint(run_dir) / "module.safetensors")
    assert any(".entity_encoder.plugin_phi." in key for key in weights), sorted(weights)[:10]
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (saved["plugins"], saved["env"]) == (["plugin_encoder", "plugin_env"], "plugin/Tokens-CartPole-v1")


def test_a_plugin_that_cannot_be_imported_exits_2_naming_plugins_before_anything_is_written(tmp_path, capsys):
    overrides = [f"runs_dir={tmp_path}", "plugins=[no_such_plugin]"]
    code = main(["train", str(CONFIGS_DIR / "cartpole_perceiver.yaml"), *sets(overrides)])
    err = capsys.readouterr().err
    reason = "ModuleNotFoundError: No module named 'no_such_plugin'"
    assert code == 2 and err == f"perceiver-rl: error: plugins: cannot import 'no_such_plugin' ({reason})\n"
    assert list(tmp_path.iterdir()) == []
