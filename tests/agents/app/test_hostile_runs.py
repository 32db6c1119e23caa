"""Run directories under hostile conditions (issue 30): weights finite only before the cast to the module's dtype,
weights of another kind of dtype, optimizer state that is malformed or not finite, special files where a checkpoint
file should be, a second writer, a finished run resumed, and training that diverges. Each refusal: exit 2, one
stderr line naming the file or option, nothing changed (``support.hostile.refused``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from support.hostile import CARTPOLE, _in_process, refused


@pytest.fixture(scope="module")
def cwd(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(scope="module")
def run_dir(cwd) -> Path:
    """A CartPole run directory with one checkpoint of a freshly built module and a real Adam state for it."""
    from agents.experiment.checkpoint import Counters, save_checkpoint
    from agents.experiment.loader import load_config
    from agents.experiment.run_dir import new_run_dir
    from agents.rllib.build import build_module, make_env

    cfg = load_config(CARTPOLE, [f"runs_dir={cwd / 'runs'}"])
    env = make_env(cfg.env, cfg.env_config)
    module = build_module(cfg, env)
    env.close()
    adam = torch.optim.Adam(module.parameters(), lr=1e-3)
    sum(p.sum() for p in module.parameters()).backward()
    adam.step()
    run = new_run_dir(cfg)
    optim = {"default_policy_default_optimizer": adam.state_dict()}
    save_checkpoint(run, Counters(iteration=1, env_steps=64), module.state_dict(), optim)
    return run


def _copy(run_dir: Path, name: str) -> tuple[str, Path]:
    copy = run_dir.parent / name
    shutil.copytree(run_dir, copy)
    return str(copy.relative_to(run_dir.parent.parent)), copy / "checkpoints" / "iter_000001"


def _weights(edit):
    def apply(ckpt: Path) -> None:
        state = load_file(ckpt / "module.safetensors")
        key = sorted(k for k, v in state.items() if v.is_floating_point())[0]
        state[key] = edit(state[key])
        save_file(state, ckpt / "module.safetensors")

    return apply


def _optimizer(edit):
    def apply(ckpt: Path) -> None:
        state = torch.load(ckpt / "optimizer.pt", weights_only=True)
        torch.save(edit(state["default_policy_default_optimizer"]) or state, ckpt / "optimizer.pt")

    return apply


def _first_moment(opt: dict) -> None:
    next(iter(opt["state"].values()))["exp_avg"].fill_(float("nan"))


def _fifo(name: str):
    def apply(ckpt: Path) -> None:
        (ckpt / name).unlink()
        os.mkfifo(ckpt / name)

    return apply


def _symlink(name: str, target: str):
    def apply(ckpt: Path) -> None:
        (ckpt / name).unlink()
        (ckpt / name).symlink_to(target)

    return apply


CASES = {
    # finite in the file, inf once cast to the module's float32
    "float64 1e300": (_weights(lambda t: torch.full_like(t, 1e300, dtype=torch.float64)), "NaN or inf in the model's dtype"),
    "int64": (_weights(lambda t: t.to(torch.int64)), "(dtype: "),
    "complex": (_weights(lambda t: t.to(torch.complex64)), "(dtype: "),
    "bool": (_weights(lambda t: t > 0), "(dtype: "),
    "float16 overflow": (_weights(lambda t: torch.full_like(t, 1e6, dtype=torch.float64)), None),  # fine in float32
    "adam moment NaN": (_optimizer(_first_moment), "optimizer.pt: default_policy_default_optimizer.state."),
    "adam eps NaN": (_optimizer(lambda o: o["param_groups"][0].update(eps=float("nan"))), ".param_groups.0.eps: NaN or inf"),
    "adam lr negative": (_optimizer(lambda o: o["param_groups"][0].update(lr=-1.0)), ".param_groups.0.lr: expected >= 0"),
    "optimizer a list": (lambda c: torch.save([1, 2], c / "optimizer.pt"), "optimizer.pt: expected a mapping of optimizer name"),
    "optimizer no groups": (_optimizer(lambda o: o.pop("param_groups") and None), "expected an optimizer state dict"),
    "state.json fifo": (_fifo("state.json"), "state.json: not a regular file"),
    "weights fifo": (_fifo("module.safetensors"), "module.safetensors: not a regular file"),
    "weights /dev/zero": (_symlink("module.safetensors", "/dev/zero"), "module.safetensors: not a regular file"),
    "optimizer /dev/zero": (_symlink("optimizer.pt", "/dev/zero"), "optimizer.pt: not a regular file"),
    "latest fifo": (lambda c: (_fifo("latest")(c.parent)), "latest: not a regular file"),
    "state.json huge": (lambda c: (c / "state.json").write_text(" " * 70_000 + "{}"), "more than the 65,536"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_evaluate_and_resume_refuse_what_loading_would_break(cwd, run_dir, case):
    corrupt, culprit = CASES[case]
    run, ckpt = _copy(run_dir, case.replace(" ", "_").replace("/", "_"))
    corrupt(ckpt)
    if culprit is None:  # a float64 file whose values fit float32 still loads
        code, err = _in_process(cwd, ["evaluate", run, "--episodes", "1"])
        assert code == 0, err
        return
    started = time.time()
    refused(cwd, ["evaluate", run, "--episodes", "1"], culprit)
    refused(cwd, ["train", "--resume", run, "--set", "stop.iterations=5"], culprit)
    assert time.time() - started < 120, "a special file must be refused, not read"


def test_weights_are_checked_after_the_cast_in_the_python_api(run_dir):
    from agents.experiment.checkpoint import CheckpointError, fitting_state

    state = load_file(run_dir / "checkpoints" / "iter_000001" / "module.safetensors")

    class Module(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(3))

    assert fitting_state(Module(), {"w": torch.ones(3, dtype=torch.float64)}, "x")["w"].dtype == torch.float32
    with pytest.raises(CheckpointError, match=r"x: its weights contain NaN or inf in the model's dtype \(w\)"):
        fitting_state(Module(), {"w": torch.full((3,), 1e39, dtype=torch.float64)}, "x")
    with pytest.raises(CheckpointError, match=r"dtype: w torch.int32 != torch.float32"):
        fitting_state(Module(), {"w": torch.ones(3, dtype=torch.int32)}, "x")
    assert state  # the fixture's weights are what the other cases corrupt


def test_a_diverged_state_is_never_saved_and_latest_keeps_the_last_finite_checkpoint(tmp_path):
    from agents.experiment.checkpoint import Counters, DivergedError, save_checkpoint

    good = {"w": torch.ones(2)}
    save_checkpoint(tmp_path, Counters(iteration=1), good, {})
    adam = torch.optim.Adam([torch.nn.Parameter(torch.ones(2))])
    adam.param_groups[0]["eps"] = float("nan")
    for weights, optim in (({"w": torch.tensor([1.0, float("inf")])}, {}), (good, {"adam": adam.state_dict()})):
        with pytest.raises(
            DivergedError, match=r"training diverged at iteration 2 .*the last checkpoint \(iter_000001\)"
        ):
            save_checkpoint(tmp_path, Counters(iteration=2), weights, optim)
        assert (tmp_path / "checkpoints" / "latest").read_text() == "iter_000001"
        assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["iter_000001", "latest"]


def test_interrupted_saves_are_cleaned(tmp_path):
    from agents.experiment.checkpoint import Counters, clean_interrupted_saves, save_checkpoint

    save_checkpoint(tmp_path, Counters(iteration=1), {"w": torch.ones(2)}, {})
    (tmp_path / "checkpoints" / ".tmp_iter_000002" / "sub").mkdir(parents=True)
    (tmp_path / "checkpoints" / ".latest.tmp").write_text("iter_000002")
    removed = clean_interrupted_saves(tmp_path)
    assert sorted(p.name for p in removed) == [".latest.tmp", ".tmp_iter_000002"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["iter_000001", "latest"]


HOLD = """
import sys, time
from pathlib import Path
from agents.experiment.run_lock import lock_run_dir
lock_run_dir(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(600)
"""


def test_one_writer_per_run_directory_and_a_killed_writer_leaves_no_lock(cwd, run_dir):
    from agents.experiment.run_lock import RunLockedError, lock_run_dir, unlock_run_dir

    run, _ = _copy(run_dir, "locked")
    root = Path(__file__).resolve().parents[3]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(cwd / run)], cwd=root, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        refused(cwd, ["train", "--resume", run], f"--resume {run}: another perceiver-rl process is training this run")
        with pytest.raises(RunLockedError):
            lock_run_dir(cwd / run)
    finally:
        holder.kill()
        holder.wait(30)
    lock_run_dir(cwd / run)  # the kernel released the killed holder's lock
    lock_run_dir(cwd / run)  # held by this process already: a no-op
    unlock_run_dir(cwd / run)


def test_resuming_a_finished_run_trains_nothing_and_says_so(cwd, run_dir):
    from support.cli import snapshot

    run, _ = _copy(run_dir, "finished")
    before = snapshot(cwd)
    code, err = _in_process(cwd, ["train", "--resume", run, "--set", "stop.env_steps=64"])
    assert code == 0 and err == "", err
    assert snapshot(cwd) == before
    for stop in ("stop.iterations=1", "stop.env_steps=10"):
        code, _ = _in_process(cwd, ["train", "--resume", run, "--set", stop])
        assert code == 0 and snapshot(cwd) == before


def test_an_error_after_ray_started_is_one_line_and_a_new_run_directory_is_removed(cwd, run_dir, monkeypatch):
    from agents.app import train
    from agents.experiment.checkpoint import CheckpointError

    run, ckpt = _copy(run_dir, "optimizer_mismatch")
    adam = torch.optim.Adam([torch.nn.Parameter(torch.ones(2))])  # one parameter: not the module's optimizer
    torch.save({"default_policy_default_optimizer": adam.state_dict()}, ckpt / "optimizer.pt")
    # Ray's own start-up lines (INFO, token WARNING) must not precede the line
    refused(cwd, ["train", "--resume", run], "optimizer.pt: state 'default_policy_default_optimizer' does not fit",
            process=True)  # fmt: skip

    def fails(self, cfg, run_dir, **kwargs):
        train.lock_run_dir(run_dir)
        raise CheckpointError("setup: failed after Ray started")

    monkeypatch.setattr(train.Trainer, "__init__", fails)
    before = sorted((cwd / "runs").iterdir())
    code, err = _in_process(cwd, ["train", CARTPOLE, "--set", "runs_dir=runs"])
    assert code == 2 and err.splitlines() == ["perceiver-rl: error: setup: failed after Ray started"], err
    assert sorted((cwd / "runs").iterdir()) == before, "the run directory made for the failed run is removed"
