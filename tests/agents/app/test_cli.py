"""The `perceiver-rl` command line: tiny real training runs, checkpoint -> evaluate, old run formats, the commands' assembly and start-up cost (bad input: ``test_hostile_cli.py``)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.app.cli import CONFIGS_DIR, main
from support.cli import TINY, sets


def train(config, runs_dir, *extra):
    return main(["train", str(CONFIGS_DIR / config), *sets([*TINY, f"runs_dir={runs_dir}", *extra])])


def only_run_dir(runs_dir):
    (run_dir,) = list(runs_dir.iterdir())
    return run_dir


KINDS = [
    ("cartpole_perceiver.yaml", []),
    ("cartpole_mlp.yaml", []),
    ("cartpole_perceiver.yaml", ["model.policy.encoder=transformer", "model.policy.lstm=true"]),
    ("minigrid_doorkey_perceiver.yaml", []),
    ("sim_move_to_beacon_perceiver.yaml", ["env_config.spatial_size=16"]),
    ("sim_collect_mineral_shards_transformer.yaml", ["env_config.spatial_size=16", "model.policy.lstm=true"]),
]


@pytest.mark.parametrize("config,extra", KINDS, ids=[f"{c}{'+' if e else ''}{'+'.join(e)}" for c, e in KINDS])
def test_tiny_train_writes_progress_tensorboard_and_checkpoints(ray_session, tmp_path, capsys, config, extra):
    assert train(config, tmp_path, *extra) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("iter ")]
    assert len(lines) == 2 and "env steps" in lines[0] and "steps/s" in lines[0] and "ETA" in lines[0]
    run_dir = only_run_dir(tmp_path)
    progress = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()]
    assert [p["iteration"] for p in progress] == [1, 2] and progress[1]["env_steps"] >= 256
    assert (run_dir / "checkpoints" / "latest").read_text() == "iter_000002"
    assert (run_dir / "checkpoints" / "iter_000001" / "module.safetensors").is_file()
    from agents.app.tensorboard import scalar_series

    steps = [s for s, _ in scalar_series(run_dir / "tb", "train/env_steps_per_s")]
    assert steps == [p["env_steps"] for p in progress]


def test_checkpoint_evaluate_round_trip_same_greedy_actions(ray_session, tmp_path, capsys):
    import gymnasium as gym

    import envs
    from agents.app.evaluate import ModulePolicy
    from agents.app.train import Trainer
    from agents.experiment.loader import load_config
    from agents.experiment.run_dir import new_run_dir
    from agents.rllib.runs import load_module

    envs.register_all()
    cfg = load_config(CONFIGS_DIR / "cartpole_perceiver.yaml", TINY + [f"runs_dir={tmp_path}"])
    run_dir = new_run_dir(cfg)
    trainer = Trainer(cfg, run_dir)
    try:
        trainer.train()
        live = ModulePolicy(trainer.module())
        env = gym.make(cfg.env)
        restored = ModulePolicy(load_module(run_dir, env))
        obs, _ = env.reset(seed=3)
        for _ in range(50):
            a, b = live.act(obs), restored.act(obs)
            assert np.array_equal(a, b)
            obs, _, term, trunc, _ = env.step(a)
            if term or trunc:
                obs, _ = env.reset()
    finally:
        trainer.close()
    assert main(["evaluate", str(run_dir), "--episodes", "2", "--json"]) == 0
    out = capsys.readouterr().out
    assert (
        "mean return" in out and "(greedy actions)" in out and json.loads(out.strip().splitlines()[-1])["episodes"] == 2
    )


OLD_FORMAT_RUN_CONFIG = """\
env: perceiver_rl/Tokens-CartPole-v1
algorithm: PPO
name: cartpole_perceiver
seed: 0
env_config: {}
model:
  module: perceiver
  encoder: perceiver
  heads: queries
  num_latents: 8
  latent_channels: 64
  num_self_attends: 1
  num_heads: 4
  hidden: 64
  spatial_channels: null
  spatial_pool: 1
  location_sigma: 1.0
  lstm: false
  max_seq_len: 20
"""
"""The flat ``model:`` section a run directory's config.yaml had before the sections (Nov 2026)."""


def test_a_run_directory_with_the_old_model_format_is_refused_by_resume_and_evaluate(tmp_path, capsys):
    from agents.experiment.checkpoint import Counters, save_checkpoint

    run_dir = tmp_path / "cartpole_perceiver-20261101-000000"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(OLD_FORMAT_RUN_CONFIG)
    save_checkpoint(run_dir, Counters(iteration=1, env_steps=2000), {}, {})
    files = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    for args in (["evaluate", str(run_dir), "--episodes", "1"], ["train", "--resume", str(run_dir)]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        assert f"{run_dir / 'config.yaml'}: model: the config format changed" in err, err
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == files


def test_sc2_without_the_game_exits_2_naming_sc2path_and_the_simulator(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SC2PATH", str(tmp_path / "no-game"))
    code = main(
        ["train", str(CONFIGS_DIR / "sc2_move_to_beacon_perceiver.yaml"), "--set", f"runs_dir={tmp_path / 'runs'}"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "SC2PATH" in err and "perceiver_rl/Sim-MoveToBeacon-v0" in err
    assert not (tmp_path / "runs").exists()


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "perceiver_rl/Tokens-CartPole-v1" in out and "configs/cartpole_perceiver.yaml" in out


def test_cli_assembles_every_command_module():
    from agents.app import commands
    from agents.app.cli import COMMANDS

    modules = {path.stem for path in Path(commands.__file__).parent.glob("*.py")} - {"__init__", "common"}
    assert sorted(m.__name__.rsplit(".", 1)[1] for m in COMMANDS) == sorted(modules)


def test_list_names_every_built_in_entry():
    """`list` declares the built-in names instead of importing torch and Ray for the registries: they must be the
    entries that agents/ itself registers (tests register their own)."""
    from agents.app.commands.list import BUILT_IN
    from agents.nets.encoders import ENTITY_ENCODERS
    from agents.nets.heads import HEAD_TORSOS
    from agents.rllib.build import MODULES

    def built_in(registry):
        return tuple(name for name, cls in registry.items() if cls.__module__.startswith("agents."))

    assert BUILT_IN == {
        "modules": tuple(MODULES),
        "entity encoders": built_in(ENTITY_ENCODERS),
        "heads": built_in(HEAD_TORSOS),
    }


@pytest.mark.parametrize(
    "argv,shown", [(["--help"], "usage: perceiver-rl"), (["list"], "configs/cartpole_perceiver.yaml")]
)
def test_help_and_list_load_no_torch_ray_or_pysc2(argv, shown):
    """`--help` and `list` answer at once: torch, Ray and pysc2 are imported only by the commands that use them."""
    code = (
        "import sys\nfrom agents.app.cli import main\n"
        f"try:\n    main({argv!r})\n"
        "finally:\n    print('loaded:', sorted({m.split('.')[0] for m in sys.modules if m.startswith(('torch', 'ray', 'pysc2'))}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=CONFIGS_DIR.parent
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert shown in run.stdout and run.stdout.splitlines()[-1] == "loaded: []", run.stdout[-2000:]


def test_evaluations_during_training_log_returns_and_replays(ray_session, tmp_path, capsys):
    """``evaluation.every=1``: a greedy evaluation after each iteration; ``record_every=2``: a replay (with the
    LSTM policy's attention) at every second one, as a GIF in the run directory and a film strip in TensorBoard."""
    from agents.app.tensorboard import read_events

    extra = ["env_config.spatial_size=16", "model.policy.lstm=true", "evaluation.every=1", "evaluation.record_every=2"]
    assert train("sim_move_to_beacon_perceiver.yaml", tmp_path, *extra) == 0
    run_dir = only_run_dir(tmp_path)
    rows = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [1, 2] and all(r["eval_return_mean"] >= 0 for r in rows)
    assert [p.parent.name for p in (run_dir / "replays").glob("*/*.gif")] == ["iter_000002"]
    images = [
        (ev.step, v.image.width)
        for f in (run_dir / "tb").glob("events.out.tfevents.*")
        for ev in read_events(f)
        for v in ev.summary.value
        if v.tag == "eval/replay"
    ]
    assert len(images) == 1 and images[0][0] == rows[1]["env_steps"] and images[0][1] > 256
