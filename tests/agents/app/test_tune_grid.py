"""`perceiver-rl tune` refuses grids whose trials would be the same experiment (issue 30): a key the experiment does
not read, two values that read as one, two trials that differ only in unread keys; before Ray starts."""

from __future__ import annotations

import pytest

from agents.app.cli import CONFIGS_DIR, main
from agents.app.sweep import effective_experiment, parse_grid, plan_trials
from agents.experiment.config import ConfigError, EnvRunnerConfig, ExperimentConfig, FaultConfig, ModelConfig
from agents.nets.policy import PolicyConfig
from support.cli import sets, snapshot

CARTPOLE = str(CONFIGS_DIR / "cartpole_perceiver.yaml")
PPO = ExperimentConfig()
APPO = ExperimentConfig(algorithm="APPO", env_runners=EnvRunnerConfig(rollout_fragment_length=64))
DEFAULT_MODULE = ExperimentConfig(model=ModelConfig(module="default"))
LSTM = ExperimentConfig(model=ModelConfig(policy=PolicyConfig(lstm=True)))
FAULTY = ExperimentConfig(faults=FaultConfig(crash_prob=0.1))


@pytest.mark.parametrize("samples", [1, 2])
@pytest.mark.parametrize(
    "base,grid,message",
    [
        (PPO, ["runs_dir=a,b"], "--grid runs_dir: trials would be identical (the key does not change the experiment: "),
        (PPO, ["name=a,b"], "--grid name: trials would be identical (the key does not change the experiment: "),
        (
            PPO,
            ["pretrain.lr=1e-3,1e-2"],
            "--grid pretrain.lr: trials would be identical (the key does not change the experiment: tune trials are "
            "train runs, which never read pretrain.*)",
        ),
        (PPO, ["evaluation.episodes=1,2"], "--grid evaluation.episodes: trials would be identical (the key does not"),
        (
            PPO,
            ["appo.clip_param=0.1,0.3"],
            "--grid appo.clip_param: trials would be identical (algorithm is PPO; appo.* is not read)",
        ),
        (APPO, ["ppo.lambda_=0.9,0.95"], "--grid ppo.lambda_: trials would be identical (algorithm is APPO; ppo.*"),
        (
            APPO,
            ["env_runners.overlap=false,true", "env_runners.num_env_runners=1"],
            "--grid env_runners.overlap: trials would be identical (algorithm is APPO; env_runners.overlap is read by",
        ),
        (
            PPO,
            ["model.default.fcnet_hiddens=[8],[16]"],
            "--grid model.default.fcnet_hiddens: trials would be identical (model.module is alphastar; model.default.* "
            "is not read)",
        ),
        (
            DEFAULT_MODULE,
            ["model.policy.encoder=perceiver,transformer"],
            "--grid model.policy.encoder: trials would be identical (model.module is default; model.policy.* is not "
            "read)",
        ),
        (
            PPO,
            ["model.max_seq_len=10,20"],
            "--grid model.max_seq_len: trials would be identical (model.policy.lstm "
            "is off; model.max_seq_len is not read)",
        ),
        (PPO, ["faults.seed=1,2"], "--grid faults.seed: trials would be identical (faults.crash_at_step is null"),
        (PPO, ["training.lr=1e-3,0.001"], "--grid training.lr: values 1e-3 and 0.001 are the same (0.001)"),
        (PPO, ["training.grad_clip=1,1.0"], "--grid training.grad_clip: values 1 and 1.0 are the same (1.0)"),
        (
            PPO,
            ["model.policy.spatial_channels=[8,16],[8, 16]"],
            "--grid model.policy.spatial_channels: values [8,16] and [8, 16] are the same ([8, 16])",
        ),
        (PPO, ["training.lr=1e-4,3e-4", "runs_dir=a,b"], "--grid runs_dir: trials would be identical"),
        (
            PPO,
            ["algorithm=PPO,APPO", "appo.clip_param=0.1,0.3", "env_runners.rollout_fragment_length=64"],
            "--grid appo.clip_param: trials appo.clip_param=0.1 and appo.clip_param=0.3 would be identical where "
            "algorithm=PPO",
        ),
    ],
)
def test_grids_of_identical_trials_are_refused(base, grid, message, samples):
    with pytest.raises(ConfigError) as e:
        plan_trials(base, parse_grid(grid), samples)
    assert str(e.value).startswith(message), str(e.value)
    assert len(str(e.value).splitlines()) == 1


@pytest.mark.parametrize(
    "base,grid,trials",
    [
        (PPO, ["training.lr=1e-4,3e-4"], 2),
        (PPO, ["algorithm=PPO,APPO", "env_runners.rollout_fragment_length=64"], 2),
        (LSTM, ["model.max_seq_len=10,20"], 2),  # read with an LSTM core
        (FAULTY, ["faults.seed=1,2"], 2),  # read when faults are injected
        (PPO, ["faults.crash_prob=0.5,0.0"], 2),  # faults on and off
        (PPO, ["env_runners.overlap=false,true", "env_runners.num_env_runners=1"], 2),  # PPO reads it
        (PPO, ["env_config.x=1,1.0"], 2),  # env_config is untyped: the env may tell 1 from 1.0
        (PPO, ["training.lr=1e-4,3e-4", "checkpoint_every=1"], 2),  # a one-value grid is a --set
    ],
)
def test_grids_of_distinct_trials_are_planned(base, grid, trials):
    assert len(plan_trials(base, parse_grid(grid))) == trials


def test_samples_repeat_a_trial_with_other_seeds():
    trials = plan_trials(ExperimentConfig(seed=3), parse_grid(["training.lr=1e-4,3e-4"]), samples=2)
    assert [(t.config.training.lr, t.config.seed) for t in trials] == [(1e-4, 3), (1e-4, 4), (3e-4, 3), (3e-4, 4)]
    assert len(plan_trials(ExperimentConfig(), {}, samples=3)) == 3  # no grid: the samples alone


def test_effective_experiment_drops_what_the_trial_does_not_read():
    data = effective_experiment(ExperimentConfig())
    for key in ("runs_dir", "name", "evaluation", "pretrain", "appo", "faults"):
        assert key not in data, key
    assert "default" not in data["model"] and "max_seq_len" not in data["model"] and "policy" in data["model"]
    assert "overlap" in data["env_runners"] and "ppo" in data and data["training"]["lr"] == 3e-4
    appo = effective_experiment(APPO)
    assert "ppo" not in appo and "appo" in appo and "overlap" not in appo["env_runners"]
    default = effective_experiment(DEFAULT_MODULE)["model"]
    assert "policy" not in default and "default" in default and "max_seq_len" not in default
    assert "max_seq_len" in effective_experiment(LSTM)["model"] and "faults" in effective_experiment(FAULTY)


def test_the_module_sections_and_overlapped_algorithms_are_the_builders():
    """sweep declares them so that planning imports no RLlib: they must be what agents.rllib.build reads."""
    from agents.app.sweep import MODULE_SECTIONS, OVERLAPPED_ALGORITHMS
    from agents.rllib.build import MODULES, OVERLAPPED

    assert MODULE_SECTIONS == {name: entry[2] for name, entry in MODULES.items()}
    assert set(OVERLAPPED_ALGORITHMS) == set(OVERLAPPED)


@pytest.mark.parametrize(
    "grid,line",
    [
        ("runs_dir={tmp}/a,{tmp}/b", "--grid runs_dir: trials would be identical (the key does not change the"),
        ("appo.clip_param=0.1,0.3", "--grid appo.clip_param: trials would be identical (algorithm is PPO; appo.*"),
        ("training.lr=1e-3,0.001", "--grid training.lr: values 1e-3 and 0.001 are the same (0.001)"),
        ("pretrain.epochs=1,2", "--grid pretrain.epochs: trials would be identical (the key does not change the"),
    ],
)
def test_tune_refuses_identical_trials_before_ray_with_one_line(tmp_path, capsys, monkeypatch, grid, line):
    def no_trial_checks(trials):
        raise AssertionError("trials checked (and Ray about to start) for a grid of identical trials")

    monkeypatch.setattr("agents.app.tune.check_trials", no_trial_checks)
    before = snapshot(tmp_path)
    code = main(["tune", CARTPOLE, "--grid", grid.format(tmp=tmp_path), *sets([f"runs_dir={tmp_path}/runs"])])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"perceiver-rl: error: {line}"), err[0]
    assert snapshot(tmp_path) == before
