"""Hostile config input, round 2 (issue 30): duplicate YAML keys, alias bombs, FIFOs and devices, non-UTF-8 bytes,
deep nesting, counts without an upper bound, seeds beyond numpy's, run names too long for a file system, faults
that never let a run progress. Each is one ``ConfigError`` line naming the culprit, raised quickly, before anything
is written; a few go through the command line (exit 2, one stderr line, no run directory)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agents.app.cli import CONFIGS_DIR, main
from agents.experiment.config import MAX_NAME_BYTES, MAX_SEED, ConfigError
from agents.experiment.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, load_config, load_saved_config
from support.cli import snapshot

CARTPOLE = CONFIGS_DIR / "cartpole_perceiver.yaml"


def refused(path: str | Path, overrides: list[str] | None = None) -> str:
    """The message of the ``ConfigError`` that ``load_config(path, overrides)`` raises (one line)."""
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides or [])
    message = str(err.value)
    assert len(message.splitlines()) == 1, message
    return message


def bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": ``width ** levels`` values from a few hundred bytes of YAML aliases."""
    lines = ["env_config:", f"  l0: &l0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------- duplicate keys


def test_a_duplicate_top_level_key_names_both_lines(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("env: CartPole-v1\ntraining:\n  lr: 0.1\nseed: 1\ntraining:\n  gamma: 0.9\n")
    assert refused(f) == f"{f}: duplicate key 'training' (line 5; first at line 2)"


@pytest.mark.parametrize(
    "text,key,lines",
    [
        ("training:\n  lr: 0.1\n  gamma: 0.9\n  lr: 0.2\n", "lr", (4, 2)),
        ("model:\n  policy:\n    entity_encoder: {channels: 8, channels: 16}\n", "channels", (3, 3)),
        ("env_config:\n  a:\n    - {b: 1}\n    - {b: 1, b: 2}\n", "b", (4, 4)),
    ],
)
def test_a_duplicate_nested_key_is_refused(tmp_path, text, key, lines):
    f = tmp_path / "x.yaml"
    f.write_text(text)
    assert refused(f) == f"{f}: duplicate key {key!r} (line {lines[0]}; first at line {lines[1]})"


def test_a_duplicate_key_in_a_base_file_names_that_file(tmp_path):
    (tmp_path / "base.yaml").write_text("seed: 1\nseed: 2\n")
    f = tmp_path / "x.yaml"
    f.write_text("base: base.yaml\ntraining: {lr: 0.1}\n")
    assert refused(f) == f"{(tmp_path / 'base.yaml').resolve()}: duplicate key 'seed' (line 2; first at line 1)"


def test_a_duplicate_key_in_a_set_value_names_the_set():
    assert refused(CARTPOLE, ["training={lr: 0.1, lr: 0.2}"]) == "--set training: duplicate key 'lr'"


def test_a_duplicate_key_in_a_saved_run_config_names_the_file(tmp_path):
    f = tmp_path / "config.yaml"
    f.write_text("name: a\nname: b\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: duplicate key 'name' \(line 2; first at line 1\)$"):
        load_saved_config(f)


def test_keys_are_not_duplicates_of_merged_or_of_other_types(tmp_path):
    """``<<: *anchor`` keys may be overridden (YAML's merge), ``1`` and ``true`` are different keys, a base file's
    key is overridden by the file's, and a repeated ``--set`` overrides the one before."""
    (tmp_path / "base.yaml").write_text("training: {lr: 0.5}\n")
    f = tmp_path / "x.yaml"
    f.write_text("base: base.yaml\ntraining:\n  <<: {lr: 0.1, gamma: 0.5}\n  lr: 0.2\nenv_config: {1: a, true: b}\n")
    cfg = load_config(f, ["training.gamma=0.7", "training.gamma=0.8"])
    assert (cfg.training.lr, cfg.training.gamma) == (0.2, 0.8)


# ---------------------------------------------------------------------------------- alias bombs, deep nesting


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text(bomb())  # 9 ** 9 = 387,420,489 values
    assert f.stat().st_size < 1000
    start = time.perf_counter()
    assert refused(f) == f"{f}: expands to more than {MAX_VALUES:,} values (YAML aliases?)"
    assert time.perf_counter() - start < 2


def test_an_alias_bomb_in_a_set_value_is_refused_quickly():
    levels = [f"&l0 [{', '.join(['x'] * 10)}]"]
    for i in range(1, 8):
        levels.append(f"&l{i} [{', '.join([f'*l{i - 1}'] * 10)}]")
    start = time.perf_counter()
    message = refused(CARTPOLE, ["env_config.x=[" + ", ".join(levels) + "]"])
    assert message == f"--set env_config.x: expands to more than {MAX_VALUES:,} values (YAML aliases?)"
    assert time.perf_counter() - start < 2


def test_aliases_below_the_bound_are_fine_and_a_value_inside_itself_is_not(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text(bomb(levels=4, width=9))  # 9 ** 4 = 6561 leaves
    assert len(load_config(f).env_config) == 4
    f.write_text("env_config: &a {x: *a}\n")
    assert refused(f) == f"{f}: expands to more than {MAX_VALUES:,} values (YAML aliases?)"


def test_nesting_10000_levels_deep_is_one_line(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("env_config: {x: " + "[" * 10_000 + "]" * 10_000 + "}\n")
    assert refused(f) == f"{f}: nested deeper than {MAX_DEPTH} levels"
    f.write_text("env_config: {x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "}\n")
    assert refused(f) == f"{f}: nested deeper than {MAX_DEPTH} levels"


def test_nesting_at_the_bound(tmp_path):
    """The top-level mapping is level 1: ``env_config: {x: [[...]]}`` with 62 lists is 64 levels, 63 lists 65."""
    f = tmp_path / "x.yaml"
    f.write_text("env_config: {x: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "}\n")
    load_config(f)
    f.write_text("env_config: {x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}\n")
    assert refused(f) == f"{f}: nested deeper than {MAX_DEPTH} levels"


def test_nesting_through_aliases_is_checked_after_loading(tmp_path):
    """Each anchor below 64 levels, their aliases nested deeper: found in the loaded value, not while parsing."""
    f = tmp_path / "x.yaml"
    deep = "[" * 40 + "]" * 40
    f.write_text(f"env_config:\n  a: &a {deep}\n  b: &b [{'[' * 30}*a{']' * 30}]\n")
    assert refused(f) == f"{f}: nested deeper than {MAX_DEPTH} levels"


def test_nesting_of_a_set_counts_its_keys():
    load_config(CARTPOLE, ["env_config.a=" + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)])
    message = refused(CARTPOLE, ["env_config.a=" + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)])
    assert message == f"--set env_config.a: nested deeper than {MAX_DEPTH} levels"
    assert refused(CARTPOLE, ["env_config." + ".".join(["a"] * 100) + "=1"]).endswith(
        f"...: nested deeper than {MAX_DEPTH} levels"
    )


# -------------------------------------------------------------------------------- what a config file may be


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "x.yaml"
    os.mkfifo(fifo)
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(refused(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "load_config blocked on a FIFO"
    assert result == [f"{fifo}: not a regular file (a FIFO)"]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_refused_before_it_is_read():
    assert refused("/dev/zero") == "/dev/zero: not a regular file (a character device)"


def test_a_directory_is_refused_and_a_symlink_to_a_file_is_read(tmp_path):
    assert refused(tmp_path) == f"{tmp_path}: not a regular file (a directory)"
    link = tmp_path / "link.yaml"
    link.symlink_to(CARTPOLE)
    assert load_config(link).env == "perceiver_rl/Tokens-CartPole-v1"
    fifo_link = tmp_path / "fifo_link.yaml"
    os.mkfifo(tmp_path / "fifo")
    fifo_link.symlink_to(tmp_path / "fifo")
    assert refused(fifo_link) == f"{fifo_link}: not a regular file (a FIFO)"


def test_the_file_size_bound(tmp_path):
    f = tmp_path / "x.yaml"
    head = "env: CartPole-v1\n# "
    f.write_text(head + "x" * (MAX_FILE_BYTES - len(head) - 1) + "\n")
    assert f.stat().st_size == MAX_FILE_BYTES
    assert load_config(f).env == "CartPole-v1"
    f.write_text(head + "x" * (MAX_FILE_BYTES - len(head)) + "\n")
    assert refused(f) == f"{f}: larger than 1 MiB ({MAX_FILE_BYTES + 1:,} bytes; a config has a few KB)"


def test_bytes_that_are_not_utf8_are_one_line(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_bytes(b"env: CartPole-v1\nname: \xff\xfe\n")
    assert refused(f) == f"{f}: not UTF-8 text (invalid byte 0xff at offset 23)"
    f.write_bytes(b"env: CartPole-v1\nname: caf\xc3\xa9\n")  # UTF-8 itself is fine
    assert load_config(f).name == "caf\u00e9"


# ------------------------------------------------------------------------------------- counts, sizes, seeds


BOUNDS = [
    ("env_runners.num_env_runners", 1024),
    ("env_runners.num_envs_per_env_runner", 1024),
    ("env_runners.rollout_fragment_length", 10**7),
    ("env_runners.max_num_env_runner_restarts", 10**6),
    ("training.num_epochs", 10**4),
    ("model.max_seq_len", 65_536),
    ("model.policy.state_channels", 8192),
    ("model.policy.head_channels", 8192),
    ("model.policy.scalar_channels", 8192),
    ("model.policy.lstm_layers", 1024),
    ("model.policy.spatial_res_blocks", 1024),
    ("model.policy.spatial_pool", 1024),
    ("model.policy.spatial_embed_size", 1024),
    ("model.policy.head_attention_heads", 1024),
    ("model.policy.fourier_bands", 1024),
    ("env_config.spatial_size", 1024),
    ("env_config.max_entities", 4096),
    ("env_config.max_selected", 1024),
    ("torch_threads", 1024),
    ("checkpoint_every", 10**9),
    ("evaluation.episodes", 10**4),
    ("stop.env_steps", 10**15),
    ("stop.iterations", 10**9),
    ("faults.crash_at_step", 10**15),
    ("pretrain.episodes", 10**4),
    ("pretrain.epochs", 10**4),
    ("pretrain.minibatch_size", 10**7),
    ("seed", 2**31 - 1),
    ("faults.seed", 2**31 - 1),
]
"""Keys and their largest accepted value (the docstrings of agents/experiment/config.py and agents/nets/policy.py)."""


@pytest.mark.parametrize("key,top", BOUNDS, ids=[k for k, _ in BOUNDS])
def test_the_largest_value_is_accepted_and_one_more_is_refused(key, top):
    load_config(CARTPOLE, [f"{key}={top}"])
    message = refused(CARTPOLE, [f"{key}={top + 1}"])
    assert message.startswith(f"{key}: expected ") and message.endswith(f"{top:,}], got {top + 1}"), message


@pytest.mark.parametrize("key", ["training.train_batch_size_per_learner", "training.minibatch_size"])
def test_batch_sizes_are_bounded(key):
    load_config(CARTPOLE, ["training.train_batch_size_per_learner=10000000", "training.minibatch_size=10000000"])
    assert refused(CARTPOLE, [f"{key}=10000001"]) == f"{key}: expected in [1, 10,000,000], got 10000001"


def test_the_issue_examples():
    assert refused(CARTPOLE, ["env_runners.num_envs_per_env_runner=1000000"]) == (
        "env_runners.num_envs_per_env_runner: expected in [1, 1,024], got 1000000"
    )
    assert refused(CARTPOLE, ["model.max_seq_len=1000000000"]) == (
        "model.max_seq_len: expected in [1, 65,536], got 1000000000"
    )
    assert refused(CARTPOLE, ["env_config.spatial_size=100000"]) == (
        "env_config.spatial_size: expected in [1, 1,024], got 100000"
    )
    assert refused(CARTPOLE, ["model.default.fcnet_hiddens=[64, 100000]"]) == (
        "model.default.fcnet_hiddens[1]: expected in [1, 8,192], got 100000"
    )


def test_env_config_sizes_of_another_type_are_the_envs_to_check():
    assert load_config(CARTPOLE, ["env_config.spatial_size=big"]).env_config == {"spatial_size": "big"}


@pytest.mark.parametrize("seed", [2**31, 2**32, 2**63, -1])
def test_seeds_beyond_numpys_range_are_refused(seed):
    assert refused(CARTPOLE, [f"seed={seed}"]) == f"seed: expected in [0, 2,147,483,647], got {seed}"
    assert refused(CARTPOLE, [f"faults.seed={seed}"]).startswith("faults.seed: expected in [0, 2,147,483,647]")


def test_the_largest_seed_plus_every_offset_fits_numpy():
    """RLlib: ``seed + worker index`` (<= 1024), evaluation EnvRunners ``+ 10**6``; vector envs ``+ env index``
    (<= 1024); pretrain ``seed + episode`` (< 10**4); faults ``seed + pid`` (< 2**22 on Linux)."""
    import numpy as np

    largest = MAX_SEED + 10**6 + 1024 + 1024 + 10**4 + 2**22
    np.random.seed(largest)  # raises ValueError at 2**32
    assert largest < 2**32


def test_a_long_lstm_chunk_must_fit_the_batch():
    lstm = ["model.policy.lstm=true", "training.train_batch_size_per_learner=128", "training.minibatch_size=64"]
    load_config(CARTPOLE, [*lstm, "model.max_seq_len=128"])
    assert refused(CARTPOLE, [*lstm, "model.max_seq_len=129"]) == (
        "model.max_seq_len: expected <= training.train_batch_size_per_learner (128) with an LSTM (a longer chunk is "
        "never filled, only padded), got 129"
    )
    load_config(CARTPOLE, [*lstm[1:], "model.max_seq_len=129"])  # no LSTM: the key is not read


def test_spatial_channels_cannot_stride_past_the_largest_map():
    load_config(CARTPOLE, ["model.policy.spatial_channels=[8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]"])
    assert refused(CARTPOLE, ["model.policy.spatial_channels=[8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]"]).startswith(
        "model.policy.spatial_channels: expected at most 11 entries"
    )


# ------------------------------------------------------------------------------------------------------ name


def test_the_longest_name():
    load_config(CARTPOLE, ["name=" + "a" * MAX_NAME_BYTES])
    assert refused(CARTPOLE, ["name=" + "a" * (MAX_NAME_BYTES + 1)]).startswith(
        f"name: expected at most {MAX_NAME_BYTES} bytes in UTF-8"
    )
    load_config(CARTPOLE, ["name=" + "\u00e9" * (MAX_NAME_BYTES // 2)])  # bytes, not characters
    assert refused(CARTPOLE, ["name=" + "\u00e9" * (MAX_NAME_BYTES // 2 + 1)]).startswith(
        f"name: expected at most {MAX_NAME_BYTES} bytes in UTF-8 (a run directory adds up to 55 to it"
    )
    assert MAX_NAME_BYTES + len("-pretrain-20260101-000000.99999") < 255


@pytest.mark.parametrize(
    "value,culprit",
    [
        ('"a/b"', "name: expected a plain file name (no path separator), got 'a/b'"),
        ('"a\\\\b"', "name: expected a plain file name (no path separator), got 'a\\\\b'"),
        ('"a\\0b"', "name: expected a plain file name (no control character), got 'a\\x00b'"),
        ('"a\\nb"', "name: expected a plain file name (no control character), got 'a\\nb'"),
        ("..", "name: expected a plain file name (no path separator), got '..'"),
        (".hidden", "name: expected a plain file name (not hidden: no leading '.'), got '.hidden'"),
        ('"   "', "name: expected a non-empty name (not only spaces), got '   '"),
        ('"\\ud800"', "name: expected a plain file name (UTF-8 text), got '\\ud800'"),
    ],
)
def test_names_that_are_no_plain_file_name(value, culprit):
    assert refused(CARTPOLE, [f"name={value}"]) == culprit


def test_names_that_are_fine():
    for name in ("run", "a.b", "caf\u00e9", "x-1_2"):
        assert load_config(CARTPOLE, [f"name={name}"]).name == name
    assert load_config(CARTPOLE, ['name=""']).name == ""  # empty: the run directory is called "run"


# ---------------------------------------------------------------------------------------------------- faults

NO_RESTARTS = ["env_runners.restart_failed_sub_environments=false", "env_runners.restart_failed_env_runners=false"]


def test_a_crash_at_every_step_is_refused_while_it_is_retried():
    assert refused(CARTPOLE, ["faults.crash_prob=1.0"]) == (
        "faults.crash_prob: expected < 1 while env_runners.restart_failed_sub_environments is on (every step crashes "
        "and is retried forever), got 1.0"
    )
    load_config(CARTPOLE, ["faults.crash_prob=0.99"])
    load_config(CARTPOLE, ["faults.crash_prob=1.0", *NO_RESTARTS])  # the run fails at its first step: a valid test
    remote = ["env_runners.num_env_runners=1", "env_runners.restart_failed_sub_environments=false"]
    assert refused(CARTPOLE, ["faults.crash_prob=1.0", *remote]).startswith(
        "faults.crash_prob: expected < 1 while env_runners.restart_failed_env_runners is on"
    )
    kill = ["faults.crash_prob=1.0", "faults.kill_process=true", "env_runners.num_env_runners=1"]
    assert refused(CARTPOLE, kill).startswith(
        "faults.crash_prob: expected < 1 while env_runners.restart_failed_env_runners is on"
    )
    load_config(CARTPOLE, [*kill, "env_runners.max_num_env_runner_restarts=0"])


def test_a_crash_before_a_sample_is_complete_is_refused_while_it_is_retried():
    """cartpole_perceiver.yaml: 2000 steps per batch over 4 envs in the driver: 500 steps per env per sample."""
    assert refused(CARTPOLE, ["faults.crash_at_step=1"]) == (
        "faults.crash_at_step: expected > 500, the steps each env takes per sample (env_runners."
        "rollout_fragment_length auto: 2000 steps / 4 envs), while env_runners.restart_failed_sub_environments is "
        "on: every env would crash before its sample is complete, forever; got 1"
    )
    assert refused(CARTPOLE, ["faults.crash_at_step=500"]).startswith("faults.crash_at_step: expected > 500")
    load_config(CARTPOLE, ["faults.crash_at_step=501"])
    fragment = ["env_runners.rollout_fragment_length=50", "training.train_batch_size_per_learner=200"]
    assert refused(CARTPOLE, [*fragment, "faults.crash_at_step=50"]).startswith(
        "faults.crash_at_step: expected > 50, the steps each env takes per sample (env_runners.rollout_fragment_length)"
    )
    load_config(CARTPOLE, [*fragment, "faults.crash_at_step=51"])
    load_config(CARTPOLE, ["faults.crash_at_step=1", *NO_RESTARTS])


# ------------------------------------------------------------------------------------------ the command line


def _cli(tmp_path: Path, capfd, args: list[str]) -> str:
    """``perceiver-rl *args`` in ``tmp_path``: exit 2, exactly one stderr line, nothing written; that line."""
    here, before = Path.cwd(), snapshot(tmp_path)
    os.chdir(tmp_path)
    try:
        code = main([*args, "--set", "runs_dir=runs"])
    except SystemExit as e:
        code = e.code
    finally:
        os.chdir(here)
    err = capfd.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1, err
    assert snapshot(tmp_path) == before and not (tmp_path / "runs").exists()
    return err[0]


def test_the_command_line_refuses_duplicates_bombs_and_bad_bounds(tmp_path, capfd):
    (tmp_path / "dup.yaml").write_text("env: CartPole-v1\nseed: 1\nseed: 2\n")
    assert _cli(tmp_path, capfd, ["train", "dup.yaml"]) == (
        "perceiver-rl: error: dup.yaml: duplicate key 'seed' (line 3; first at line 2)"
    )
    (tmp_path / "bomb.yaml").write_text(bomb())
    start = time.perf_counter()
    assert _cli(tmp_path, capfd, ["train", "bomb.yaml"]) == (
        f"perceiver-rl: error: bomb.yaml: expands to more than {MAX_VALUES:,} values (YAML aliases?)"
    )
    assert time.perf_counter() - start < 2
    assert _cli(tmp_path, capfd, ["train", str(CARTPOLE), "--set", f"seed={2**63}"]) == (
        f"perceiver-rl: error: seed: expected in [0, 2,147,483,647], got {2**63}"
    )
    assert _cli(tmp_path, capfd, ["train", str(CARTPOLE), "--set", "faults.crash_prob=1.0"]).startswith(
        "perceiver-rl: error: faults.crash_prob: expected < 1"
    )
    assert _cli(tmp_path, capfd, ["pretrain", str(CARTPOLE), "--episodes", "100000"]) == (
        "perceiver-rl: error: pretrain.episodes: expected in [1, 10,000], got 100000"
    )


def test_the_console_script_refuses_a_fifo_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "x.yaml")
    cli = str(Path(sys.executable).with_name("perceiver-rl"))
    run = subprocess.run(
        [cli, "train", "x.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert run.returncode == 2 and run.stderr.splitlines() == [
        "perceiver-rl: error: x.yaml: not a regular file (a FIFO)"
    ], run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.yaml"]
