"""``perceiver-rl evaluate RUN --record DIR``: one replay per episode, byte-identical on rerun (also with
``--sample``), nothing written when a check or an episode fails, and one-line refusals before anything is played."""

from __future__ import annotations

import io
import os
from pathlib import Path

import gymnasium as gym
import pytest
from PIL import Image

from agents.app.cli import CONFIGS_DIR, main
from agents.app.evaluate import run_episodes
from agents.app.replay import check_record, recording_name, write_recordings
from agents.nets.config_values import ConfigError
from envs.sc2.scripted import SCRIPTED_AGENTS
from support.hostile import CARTPOLE, refused

BEACON = str(CONFIGS_DIR / "sim_move_to_beacon_perceiver.yaml")
GIF = "Sim-MoveToBeacon-v0-ep0-seed5.gif"


def _run_dir(config: str, runs: Path) -> Path:
    """A run directory with one checkpoint of a freshly built module (no training)."""
    from agents.experiment.checkpoint import Counters, save_checkpoint
    from agents.experiment.loader import load_config
    from agents.experiment.run_dir import new_run_dir
    from agents.rllib.build import build_module, make_env

    cfg = load_config(config, [f"runs_dir={runs}"])
    env = make_env(cfg.env, cfg.env_config)
    module = build_module(cfg, env)
    env.close()
    run = new_run_dir(cfg)
    save_checkpoint(run, Counters(iteration=1, env_steps=64), module.state_dict(), {})
    return run


@pytest.fixture(scope="module")
def cwd(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(scope="module")
def beacon_run(cwd) -> str:
    return str(_run_dir(BEACON, cwd / "runs").relative_to(cwd))


def _evaluate(cwd: Path, args: list[str], capsys) -> str:
    here = Path.cwd()
    os.chdir(cwd)
    try:
        assert main(["evaluate", *args]) == 0
    finally:
        os.chdir(here)
    return capsys.readouterr().out


def test_record_writes_one_gif_per_episode_identical_on_rerun(cwd, beacon_run, capsys):
    out = _evaluate(cwd, [beacon_run, "--episodes", "1", "--seed", "5", "--sample", "--record", "replays"], capsys)
    assert "replays: 1 GIF files in replays" in out
    assert sorted(p.name for p in (cwd / "replays").iterdir()) == [GIF]
    data = (cwd / "replays" / GIF).read_bytes()
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == 241  # MoveToBeacon: 240 steps, a frame per observation
    _evaluate(cwd, [beacon_run, "--episodes", "1", "--seed", "5", "--sample", "--record", "again"], capsys)
    assert (cwd / "again" / GIF).read_bytes() == data


def test_record_refusals_are_one_line_and_write_nothing(cwd, beacon_run, monkeypatch):
    (cwd / "afile").write_text("x")
    refused(cwd, ["evaluate", beacon_run, "--episodes", "1", "--record", "afile"], "--record afile: not a directory")
    refused(cwd, ["evaluate", beacon_run, "--record", "afile/sub"], "--record afile/sub:")
    cartpole = str(_run_dir(CARTPOLE, cwd / "runs").relative_to(cwd))
    refused(
        cwd, ["evaluate", cartpole, "--episodes", "1", "--record", "r"],
        "--record: perceiver_rl/Tokens-CartPole-v1 has no renderer",
    )  # fmt: skip
    monkeypatch.setattr("envs.render.video_writer_problem", lambda: "no video writer is installed (test)")
    refused(
        cwd, ["evaluate", beacon_run, "--record", "r", "--record-format", "mp4"],
        "--record-format mp4: no video writer is installed",
    )  # fmt: skip
    refused(cwd, ["evaluate", beacon_run, "--record", "r", "--record-format", "avi"], "argument --record-format")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes everywhere")
def test_a_directory_that_cannot_be_written_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match=r"^--record .*locked/new: cannot write there"):
            check_record(locked / "new")
    finally:
        locked.chmod(0o700)


class Scripted:
    """The minigame's scripted agent as an evaluation policy; raises at step ``fail_at`` of episode ``fail_in``."""

    def __init__(self, env: gym.Env, fail_in: int = -1, fail_at: int = 5) -> None:
        self.agent = SCRIPTED_AGENTS["DefeatRoaches"](env.unwrapped.act_spec)
        self.episode, self.steps, self.fail_in, self.fail_at = -1, 0, fail_in, fail_at

    def reset(self) -> None:
        self.agent.reset()
        self.episode, self.steps = self.episode + 1, 0

    def act(self, obs):
        self.steps += 1
        if self.episode == self.fail_in and self.steps == self.fail_at:
            raise RuntimeError("the policy failed")
        return self.agent.act(obs)


def test_run_episodes_writes_only_after_the_last_episode(tmp_path):
    env = gym.make("perceiver_rl/Sim-DefeatRoaches-v0")
    record = tmp_path / "deep" / "replays"
    with pytest.raises(RuntimeError, match="the policy failed"):
        run_episodes(Scripted(env, fail_in=1), env, 2, seed=7, record=record)  # type: ignore[arg-type]
    assert not (tmp_path / "deep").exists()
    returns = run_episodes(Scripted(env), env, 2, seed=7, record=record)  # type: ignore[arg-type]
    env.close()
    names = [recording_name("perceiver_rl/Sim-DefeatRoaches-v0", k, 7 + k) for k in range(2)]
    assert sorted(p.name for p in record.iterdir()) == sorted(names) and len(returns) == 2
    for name in names:
        assert Image.open(record / name).n_frames > 1


def test_write_recordings_leaves_nothing_when_it_fails(tmp_path):
    target = tmp_path / "new" / "replays"
    with pytest.raises(ConfigError, match="^--record"):
        write_recordings(target, {"a.gif": b"x", "sub/b.gif": b"y"})  # no such subdirectory: the second write fails
    assert not (tmp_path / "new").exists()
    assert write_recordings(target, {"a.gif": b"x"}) == [target / "a.gif"]
    assert [p.name for p in target.iterdir()] == ["a.gif"]
