"""`perceiver-rl tune`: grid parsing, bad input (exit 2, one line, nothing written), a real 2-trial sweep."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from agents.app.cli import CONFIGS_DIR, main
from agents.app.sweep import METRICS, parse_grid, plan_trials, rank
from agents.app.tensorboard import scalar_series
from agents.experiment.config import ConfigError, ExperimentConfig
from support.cli import TINY, sets, snapshot

CARTPOLE = str(CONFIGS_DIR / "cartpole_perceiver.yaml")
ONE_ITERATION = [*TINY, "stop.iterations=1"]


def test_grid_values_split_outside_brackets_and_quotes():
    grid = parse_grid(["training.lr=1e-4, 3e-4", "model.policy.spatial_channels=[8,16],[16,32]", "name='a,b',c"])
    assert grid == {"training.lr": ["1e-4", "3e-4"], "model.policy.spatial_channels": ["[8,16]", "[16,32]"],
                    "name": ["'a,b'", "c"]}  # fmt: skip


def test_trials_are_the_product_times_seeds_with_typed_values():
    trials = plan_trials(ExperimentConfig(seed=5), parse_grid(["training.lr=1e-4,3e-4"]), samples=2)
    assert [(t.config.training.lr, t.config.seed) for t in trials] == [(1e-4, 5), (1e-4, 6), (3e-4, 5), (3e-4, 6)]
    assert [t.label for t in trials] == [
        "000-lr=1e-4-seed=5",
        "001-lr=1e-4-seed=6",
        "002-lr=3e-4-seed=5",
        "003-lr=3e-4-seed=6",
    ]


@pytest.mark.parametrize(
    "grid,samples,message",
    [
        (["training.bogus=1,2"], 1, "--grid training.bogus: unknown key"),
        (["training.lr=1e-3,-1"], 1, "--grid training.lr: expected > 0, got -1.0"),
        (
            ["training.minibatch_size=64,4000"],
            1,
            "--grid training.minibatch_size: expected <= training.train_batch_size_per_learner",
        ),
        (["training.lr"], 1, "--grid training.lr: expected KEY=V1,V2"),
        (["training.lr=1e-3,,2e-3"], 1, "--grid training.lr: an empty value"),
        (["training.lr=1e-3,1e-3"], 1, "--grid training.lr: value 1e-3 given twice"),
        (["seed=1,2"], 2, "--samples: not with --grid seed"),
    ],
)
def test_bad_grids_name_the_key(grid, samples, message):
    with pytest.raises(ConfigError) as e:
        plan_trials(ExperimentConfig(), parse_grid(grid), samples)
    assert str(e.value).startswith(message), str(e.value)


def test_rank_puts_trials_without_a_value_last():
    rows = [{"t": "a", "m": 1.0}, {"t": "b", "m": math.nan}, {"t": "c", "m": 3.0}, {"t": "d", "m": None}]
    assert [r["t"] for r in rank(rows, "m", "max")] == ["c", "a", "b", "d"]
    assert [r["t"] for r in rank(rows, "m", "min")] == ["a", "c", "b", "d"]


@pytest.mark.parametrize(
    "args,culprit",
    [
        (["--grid", "training.bogus=1,2"], "--grid training.bogus: unknown key"),
        (["--grid", "model.policy.encoder=perceiver,nope"], "--grid model.policy.encoder: unknown encoder 'nope'"),
        (
            ["--grid", "env_runners.num_env_runners=-1,0"],
            "--grid env_runners.num_env_runners: expected in [0, 1,024], got -1",
        ),
        (["--grid", "seed=1,2", "--samples", "2"], "--samples: not with --grid seed"),
        (["--grid", "training.lr=1e-4", "--metric", "bogus"], "argument --metric: invalid choice: 'bogus'"),
        (["--grid", "training.lr=1e-4", "--samples", "0"], "argument --samples: expected an int >= 1, got 0"),
    ],
)
def test_tune_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, args, culprit):
    before = snapshot(tmp_path)
    try:
        code = main(["tune", CARTPOLE, *args, *sets([f"runs_dir={tmp_path}/runs"])])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("perceiver-rl: error: ") and culprit in err[0], err[0]
    assert snapshot(tmp_path) == before


def test_two_trial_sweep_writes_run_directories_and_a_ranked_table(ray_session, tmp_path, capsys, monkeypatch):
    from agents.app.evaluate import evaluate

    monkeypatch.chdir(tmp_path)  # a relative runs_dir: the trials run in Tune's own directories
    code = main(["tune", CARTPOLE, "--grid", "training.lr=1e-4,3e-3", *sets([*ONE_ITERATION, "runs_dir=runs"])])
    out = capsys.readouterr().out
    assert code == 0, out
    (sweep,) = (tmp_path / "runs").iterdir()
    assert sweep.name.startswith("cartpole_perceiver-tune-")
    trials = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name[:3].isdigit())
    assert [t.name.split("-20")[0] for t in trials] == ["000-lr=1e-4", "001-lr=3e-3"]
    for trial, lr in zip(trials, (1e-4, 3e-3)):
        rows = [json.loads(line) for line in (trial / "progress.jsonl").read_text().splitlines()]
        assert [r["iteration"] for r in rows] == [1] and rows[0]["env_steps"] >= 128
        assert set(METRICS) <= set(rows[0]), "every --metric choice is a progress.jsonl column"
        assert len(scalar_series(trial / "tb", "train/policy_loss")) == 1
        assert (trial / "checkpoints" / "latest").read_text() == "iter_000001"
        assert f"lr: {lr}" in (trial / "config.yaml").read_text()
        assert evaluate(trial, None, 1)["episodes"] == 1  # the layout perceiver-rl evaluate reads
    results = json.loads((sweep / "results.json").read_text())
    returns = [r["episode_return_mean"] for r in results]
    assert (
        len(results) == 2 and returns == sorted(returns, reverse=True) and all(r["status"] == "done" for r in results)
    )
    table = out[out.index("trials by episode_return_mean") :].splitlines()
    assert table[1].split()[:3] == ["rank", "trial", "training.lr"]
    assert [line.split()[1] for line in table[2:4]] == [r["trial"] for r in results]


def test_a_trial_larger_than_the_cluster_exits_2_before_writing(ray_session, tmp_path, capsys):
    before = snapshot(tmp_path)
    code = main(
        [
            "tune",
            CARTPOLE,
            "--grid",
            "training.lr=1e-4,3e-4",
            *sets([f"runs_dir={tmp_path}", "env_runners.num_env_runners=2"]),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        "perceiver-rl: error: env_runners.num_env_runners: a trial needs 3 CPUs (1 + 1 per EnvRunner), the Ray cluster has 2"
    ]
    assert snapshot(tmp_path) == before


def test_a_failed_trial_is_ranked_last_and_the_exit_status_is_1(ray_session, tmp_path, capsys):
    crash = ["env_runners.restart_failed_sub_environments=false", "env_runners.restart_failed_env_runners=false"]
    code = main(
        [
            "tune",
            CARTPOLE,
            "--grid",
            "faults.crash_prob=1.0,0.0",
            *sets([*ONE_ITERATION, *crash, f"runs_dir={tmp_path}"]),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1, out
    (sweep,) = tmp_path.iterdir()
    results = json.loads((sweep / "results.json").read_text())
    assert [(r["faults.crash_prob"], r["status"]) for r in results] == [("0.0", "done"), ("1.0", "error")]
    assert results[1]["episode_return_mean"] is None and "000-crash_prob=1.0" in out and "FAILED" in out
    assert (Path(results[1]["run_dir"]) / "train.log").is_file()
