"""Hostile input on the command line: for every case exit status 2, exactly one stderr line naming the culprit,
and the working directory (run directories included) byte-for-byte and mtime-for-mtime unchanged. No pickle payload
ever runs.

The cases run in-process through ``main`` (what the console script calls); each promise is also checked once
through a real subprocess of the console script (``PROCESS_CASES``), where the exit status and every line a library
might print reach the test as a user would see them. Config errors fail before Ray starts; the checkpoint cases
corrupt copies of one run directory written once per module with ``save_checkpoint`` (no training)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from support.cli import sets
from support.hostile import CARTPOLE, refused


class Payload:
    """Unpickling this creates ``marker``: it must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def cwd(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cwd")


# ------------------------------------------------------------------------------------------ train: config

CONFIG_CASES = [
    (["--set", "training.lr=-1"], "training.lr: expected > 0, got -1.0"),
    (["--set", "training.lr=0"], "training.lr: expected > 0, got 0.0"),
    (["--set", "training.lr=.nan"], "training.lr: expected a finite float"),
    (["--set", "env_runners.num_env_runners=-1"], "env_runners.num_env_runners: expected in [0, 1,024], got -1"),
    (["--set", "env_runners.num_envs_per_env_runner=0"], "env_runners.num_envs_per_env_runner: expected in [1, 1,024], got 0"),
    (["--set", "training.minibatch_size=100000"], "training.minibatch_size: expected <= training.train_batch_size_per_learner"),
    (["--set", "ppo.entropy_coeff=[[5, 0.1]]"], "ppo.entropy_coeff[0]: expected the schedule to start at env step 0"),
    (["--set", "name=../escape"], "name: expected a plain file name"),
    (["--set", "model.policy.encoder=nope"], "model.policy.encoder: unknown encoder 'nope'"),
    (["--set", "model.module=perceiver"], "model.module: unknown module 'perceiver' (valid: alphastar, default)"),
    (["--set", "model.policy.heads=nope"], "model.policy.heads: unknown heads 'nope'"),
    (["--set", "model.bogus=1"], "model.bogus: unknown key"),
    (["--set", "training.lr=fast"], "training.lr: expected float, got 'fast'"),
    (["--set", "algorithm=DQNX"], "algorithm: unknown algorithm 'DQNX'"),
    (["--set", "env=CartPole-v1"], "model.module: 'alphastar' needs observations with entities, entity_mask; env CartPole-v1"),
    (["--set", "env=perceiver_rl/Nope-v0"], "env: unknown environment 'perceiver_rl/Nope-v0'"),
    (["--set", "env_config.bogus=1"], "env_config: perceiver_rl/Tokens-CartPole-v1 rejected its arguments"),
    (["--set", "training.lr"], "--set training.lr: expected KEY=VALUE"),
    # RLlib's own consistency check, raised inside its config builder
    (["--set", "env_runners.rollout_fragment_length=1000", "--set", "training.train_batch_size_per_learner=64",
      "--set", "training.minibatch_size=32"], "PPO config: Your desired `total_train_batch_size`"),
    (["--init-from", "nowhere"], "--init-from: no checkpoint at nowhere"),
    (["--address"], "argument --address: expected one argument"),
]  # fmt: skip


@pytest.mark.parametrize("args,culprit", CONFIG_CASES, ids=[" ".join(a)[:60] for a, _ in CONFIG_CASES])
def test_bad_train_config(cwd, args, culprit):
    refused(cwd, ["train", CARTPOLE, "--set", "runs_dir=runs", *args], culprit)


PROCESS_CASES = [
    (["train", CARTPOLE, "--set", "runs_dir=runs", "--set", "model.bogus=1"], "model.bogus: unknown key"),
    (
        [
            "train",
            CARTPOLE,
            *sets(
                [
                    "runs_dir=runs",
                    "env_runners.rollout_fragment_length=1000",
                    "training.train_batch_size_per_learner=64",
                    "training.minibatch_size=32",
                ]
            ),
        ],
        "PPO config: Your desired `total_train_batch_size`",
    ),
    ([], "the following arguments are required: command"),
]
"""The console script itself: a config error found before Ray starts, one raised inside RLlib (after Ray and torch
are imported, with their log noise silenced), an argparse error."""


@pytest.mark.parametrize("args,culprit", PROCESS_CASES, ids=["config", "rllib", "argparse"])
def test_the_console_script_exits_2_with_one_line(cwd, args, culprit):
    refused(cwd, args, culprit, process=True)


@pytest.mark.parametrize(
    "text,culprit",
    [
        ("env: [unclosed\n", "not valid safe YAML"),
        (None, "not valid safe YAML"),  # a !!python tag whose payload must not run
        ("- a list\n", "expected a mapping at the top level"),
        ("base: itself.yaml\n", "circular reference"),
        ("training: {gamma: 1.5}\n", "training.gamma: expected in (0, 1], got 1.5"),
    ],
)
def test_bad_yaml_file(cwd, text, culprit):
    marker = cwd / "pwned"
    text = text or f"env: !!python/object/apply:os.system ['touch {marker}']\n"
    f = cwd / "itself.yaml"
    f.write_text(text)
    try:
        refused(cwd, ["train", f.name], culprit, process=text is None)  # the payload: also through the console script
        assert not marker.exists()
    finally:
        f.unlink()


def test_nowhere_to_write_or_no_cluster(cwd):
    (cwd / "a_file").write_text("")
    refused(cwd, ["train", CARTPOLE, "--set", "runs_dir=a_file/runs"], "runs_dir: ")
    refused(
        cwd,
        ["train", CARTPOLE, "--set", "runs_dir=runs", "--address", "127.0.0.1:1"],
        "--address 127.0.0.1:1: no Ray cluster answers",
    )
    refused(
        cwd,
        ["train", CARTPOLE, "--set", "runs_dir=runs", "--address", "nonsense"],
        "--address nonsense: expected auto or HOST:PORT",
    )
    refused(cwd, ["train", "--resume", "a_file"], "--resume a_file: not a run directory")


def test_missing_config_and_no_command(cwd):
    refused(cwd, ["train", "nope.yaml"], "config file not found: nope.yaml")
    refused(cwd, [], "the following arguments are required: command")
    refused(cwd, ["list", "extra"], "unrecognized arguments: extra")


# ----------------------------------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def run_dir(cwd) -> Path:
    """A CartPole run directory with one checkpoint of a freshly built module (written in-process)."""
    from agents.experiment.checkpoint import Counters, save_checkpoint
    from agents.experiment.loader import load_config
    from agents.experiment.run_dir import new_run_dir
    from agents.rllib.build import build_module, make_env

    cfg = load_config(CARTPOLE, [f"runs_dir={cwd / 'runs'}"])
    env = make_env(cfg.env, cfg.env_config)
    module = build_module(cfg, env)
    env.close()
    run = new_run_dir(cfg)
    save_checkpoint(run, Counters(iteration=1, env_steps=64), module.state_dict(), {})
    return run


def _copy(run_dir: Path, name: str) -> tuple[Path, Path]:
    """A copy of the run directory in ``runs/`` and its checkpoint directory."""
    copy = run_dir.parent / name
    shutil.copytree(run_dir, copy)
    return copy, copy / "checkpoints" / "iter_000001"


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _edit_weights(edit):
    def apply(ckpt: Path) -> None:
        state = load_file(ckpt / "module.safetensors")
        edit(state)
        save_file(state, ckpt / "module.safetensors")

    return apply


def _first_key(state: dict) -> str:
    return sorted(state)[0]


CORRUPTIONS = {
    "truncated": (lambda c: _truncate(c / "module.safetensors"), "module.safetensors: not a valid safetensors file"),
    "pickle": (lambda c: torch.save({"w": Payload(c / "pwned")}, c / "module.safetensors"),
               "module.safetensors: not a valid safetensors file"),
    "text": (lambda c: (c / "module.safetensors").write_text("hello"), "module.safetensors: not a valid safetensors file"),
    "shape": (_edit_weights(lambda s: s.update({_first_key(s): torch.zeros(3, 3, 3)})), "weights do not fit this config's model (shape:"),
    "missing": (_edit_weights(lambda s: s.pop(_first_key(s))), "weights do not fit this config's model (missing:"),
    "unexpected": (_edit_weights(lambda s: s.update({"extra.weight": torch.zeros(1)})), "(unexpected: extra.weight)"),
    "nan": (_edit_weights(lambda s: s[_first_key(s)].fill_(float("nan"))), "weights contain NaN or inf"),
    "state": (lambda c: (c / "state.json").write_text("{not json"), "state.json: not a valid counters file"),
    "counters": (lambda c: (c / "state.json").write_text('{"iteration": "one", "env_steps": 0}'), "iteration: expected a number >= 0"),
    "optimizer": (lambda c: torch.save({"adam": Payload(c / "pwned")}, c / "optimizer.pt"), "optimizer.pt: not a valid optimizer state file"),
    "dangling": (lambda c: (c.parent / "latest").write_text("iter_000009"), "names 'iter_000009', which is not a checkpoint"),
    "escaping": (lambda c: (c.parent / "latest").write_text("../../x/checkpoints/iter_000001"), "which is not a checkpoint"),
    "no latest": (lambda c: (c.parent / "latest").unlink(), "no checkpoint at"),
    "config": (lambda c: (c.parent.parent / "config.yaml").write_text("training: {lr: -1}\n"), "config.yaml: training.lr: expected > 0"),
    "yaml tag": (lambda c: (c.parent.parent / "config.yaml").write_text(f"env: !!python/object/apply:os.system ['touch {c / 'pwned'}']\n"),
                 "config.yaml: not valid safe YAML"),
}  # fmt: skip
RESUMED = {"truncated", "pickle", "shape", "optimizer", "dangling", "config"}
"""Cases also tried with ``train --resume`` (evaluate tries them all)."""


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_checkpoint(cwd, run_dir, case):
    corrupt, culprit = CORRUPTIONS[case]
    copy, ckpt = _copy(run_dir, case.replace(" ", "_"))
    corrupt(ckpt)
    refused(cwd, ["evaluate", str(copy.relative_to(cwd)), "--episodes", "1"], culprit, process=case == "pickle")
    if case in RESUMED:
        refused(cwd, ["train", "--resume", str(copy.relative_to(cwd))], culprit)
    assert not (ckpt / "pwned").exists()


def test_evaluate_bad_options(cwd, run_dir):
    run = str(run_dir.relative_to(cwd))
    refused(
        cwd, ["evaluate", run, "--env", "perceiver_rl/Nope-v0"], "--env: unknown environment 'perceiver_rl/Nope-v0'"
    )
    refused(
        cwd,
        ["evaluate", run, "--env", "CartPole-v1"],
        "--env CartPole-v1: the run's module 'alphastar' needs observations",
    )
    refused(cwd, ["evaluate", run, "--env", "perceiver_rl/Tokens-Acrobot-v1"], "weights do not fit")
    refused(cwd, ["evaluate", run, "--episodes", "0"], "argument --episodes: expected an int >= 1, got 0")
    refused(cwd, ["evaluate", run, "--seed", "-1"], "argument --seed: expected an int >= 0, got -1")
    refused(cwd, ["evaluate", run, "--seed", str(2**31 - 1), "--episodes", "2"], "expected --seed + --episodes - 1 <=")
    refused(cwd, ["evaluate", "nowhere"], "no checkpoint at nowhere")


def test_resume_with_overrides_that_do_not_fit(cwd, run_dir):
    run = str(run_dir.relative_to(cwd))
    refused(cwd, ["train", "--resume", run, "--set", "model.policy.entity_encoder.channels=32"], "--resume runs/")
    refused(cwd, ["train", "--resume", run, "--set", "training.gamma=2"], "training.gamma: expected in (0, 1], got 2")


# ---------------------------------------------------------------------------------------------- convert


@pytest.fixture(scope="module")
def hf_dir(cwd) -> Path:
    """An HF model directory (tiny Fourier classifier, random weights) as ``save_pretrained`` writes it."""
    transformers = pytest.importorskip("transformers")
    cfg = transformers.PerceiverConfig(
        num_latents=8, d_latents=32, d_model=16, num_blocks=1, num_self_attends_per_block=1, num_self_attention_heads=2,
        num_cross_attention_heads=1, image_size=16, num_labels=5,
    )  # fmt: skip
    model = transformers.PerceiverForImageClassificationFourier(cfg).eval()
    model.save_pretrained(cwd / "hf")
    return cwd / "hf"


def _hf_copy(hf_dir: Path, name: str, **config_changes) -> Path:
    copy = hf_dir.parent / name
    shutil.copytree(hf_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, **config_changes}))
    return copy


def test_convert_refuses_config_fields_it_cannot_honour(cwd, hf_dir):
    def convert(source: Path, family: str = "fourier") -> list[str]:
        return ["convert", source.name, "--family", family, "--out", "out"]

    refused(cwd, convert(_hf_copy(hf_dir, "relu", hidden_act="relu")), "relu/config.json: HF config field hidden_act")
    refused(
        cwd, convert(_hf_copy(hf_dir, "unknown", brand_new=1)), "HF config field brand_new: unknown to the converter"
    )
    bad_json = _hf_copy(hf_dir, "bad_json")
    (bad_json / "config.json").write_text("{")
    refused(cwd, convert(bad_json), "bad_json/config.json: not valid JSON")
    refused(cwd, convert(hf_dir, "learned"), "HF config field architectures")


def test_convert_refuses_files_that_are_not_weights(cwd, hf_dir):
    convert = ["--family", "fourier", "--out", "out"]
    (cwd / "text.safetensors").write_text("not safetensors")
    refused(cwd, ["convert", "text.safetensors", *convert], "text.safetensors: not a valid safetensors file")
    (cwd / "cut.safetensors").write_bytes((hf_dir / "model.safetensors").read_bytes()[:200])
    refused(cwd, ["convert", "cut.safetensors", *convert], "cut.safetensors: not a valid safetensors file")
    torch.save({"w": Payload(cwd / "pwned")}, cwd / "evil.bin")
    refused(cwd, ["convert", "evil.bin", *convert], "evil.bin: refusing to unpickle", process=True)
    assert not (cwd / "pwned").exists()
    (cwd / "cut.bin").write_bytes((cwd / "evil.bin").read_bytes()[:20])
    refused(cwd, ["convert", "cut.bin", *convert], "cut.bin: not a valid torch checkpoint file")
    refused(cwd, ["convert", "nothing.safetensors", *convert], "no checkpoint file at nothing.safetensors")
    refused(cwd, ["convert", hf_dir.name, "--family", "audio", "--out", "out"], "family: unknown model family 'audio'")
    (cwd / "a_file").write_text("")
    refused(
        cwd,
        ["convert", hf_dir.name, "--family", "fourier", "--out", "a_file"],
        "--out a_file: exists and is not a directory",
    )
    refused(cwd, ["convert", hf_dir.name, "--family", "fourier", "--out", "out", "--image-size", "0"], "--image-size")


def test_convert_to_a_place_it_cannot_write(cwd, hf_dir):
    from support.hostile import _in_process

    refused(cwd, ["convert", hf_dir.name, "--family", "fourier", "--out", "/proc/perceiver/out"], "cannot write there")
    (cwd / "blocked" / ".model.safetensors.tmp").mkdir(parents=True)  # the temporary file's name is a directory
    code, err = _in_process(cwd, ["convert", hf_dir.name, "--family", "fourier", "--out", "blocked"])
    assert code == 2 and err.splitlines() == [
        "perceiver-rl: error: --out blocked: cannot write there (I/O error: Is a directory (os error 21))"
    ]
    assert [p.name for p in (cwd / "blocked").iterdir()] == [".model.safetensors.tmp"]
