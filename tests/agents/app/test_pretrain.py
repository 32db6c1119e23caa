"""Supervised pretraining (``perceiver-rl pretrain``) and PPO fine-tuning from it (``train --init-from``)."""

import json

import numpy as np
import pytest
import torch

from agents.app.cli import CONFIGS_DIR, main
from support.cli import TINY, sets

CONFIG = str(CONFIGS_DIR / "sim_move_to_beacon_perceiver.yaml")
SMALL = ["env_config.spatial_size=16"]
"""A 16 x 16 grid: the mechanics tests' demos and model stay small."""


def pretrain(runs_dir, *extra, episodes=2, epochs=2, config=CONFIG):
    args = [
        "pretrain",
        config,
        "--episodes",
        str(episodes),
        "--epochs",
        str(epochs),
        *sets([f"runs_dir={runs_dir}", *extra]),
    ]
    code = main(args)
    (run_dir,) = list(runs_dir.iterdir())
    return code, run_dir


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A tiny pretraining run (16 x 16 grid, 2 episodes, 2 epochs)."""
    code, run_dir = pretrain(tmp_path_factory.mktemp("runs"), *SMALL)
    assert code == 0
    return run_dir


# ------------------------------------------------------------------------------------------ mechanics


def test_pretrain_writes_a_run_directory_that_evaluate_plays(pretrained, capsys):
    progress = [json.loads(line) for line in (pretrained / "progress.jsonl").read_text().splitlines()]
    assert [p["epoch"] for p in progress] == [1, 2]
    assert progress[1]["loss"] < progress[0]["loss"]
    assert 0 <= progress[1]["action_type_accuracy"] <= 1 and 0 <= progress[1]["location_accuracy"] <= 1
    assert (pretrained / "checkpoints" / "latest").read_text() == "iter_000002"
    assert (pretrained / "checkpoints" / "iter_000002" / "module.safetensors").is_file()
    assert list((pretrained / "tb").glob("events.out.tfevents.*"))
    info = json.loads((pretrained / "pretrain.json").read_text())
    assert info["demos"] == "scripted" and info["episodes"] == 2 and info["steps"] > 0
    assert main(["evaluate", str(pretrained), "--episodes", "1"]) == 0
    assert "mean return" in capsys.readouterr().out


def test_demonstrations_are_what_the_env_saw_and_took():
    import gymnasium as gym

    import envs
    from agents.app.pretrain import ScriptedDemos
    from agents.experiment.loader import load_config
    from envs.sc2.scripted import SCRIPTED_AGENTS

    cfg = load_config(CONFIG, SMALL)
    demos = ScriptedDemos(cfg).collect(1, seed=5)
    env = gym.make(cfg.env, **cfg.env_config)
    agent = SCRIPTED_AGENTS["MoveToBeacon"](envs.contract_of(env)["act_spec"])
    obs, _ = env.reset(seed=5)
    rewards = []
    for t in range(len(demos)):
        for key, value in obs.items():
            assert np.array_equal(demos.obs[key][t], value), (t, key)
        action = agent.act(obs)
        for key, value in action.items():
            assert np.array_equal(demos.actions[key][t], value), (t, key)
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
    env.close()
    assert terminated or truncated
    assert demos.episode_returns == [sum(rewards)]
    g, returns = 0.0, []
    for r in reversed(rewards):
        g = r + cfg.training.gamma * g
        returns.insert(0, g)
    np.testing.assert_allclose(demos.returns, returns, rtol=1e-5)


def test_a_unit_targeting_config_is_demonstrated_by_pointer_and_cloned_with_target_accuracy(tmp_path, capsys):
    """With ``Move_unit`` in the action set the demos move the marines by unit targeting (the pointer heads the
    policy would use), and the epoch line reports the target-unit accuracy (no location is demonstrated)."""
    from agents.app.pretrain import ScriptedDemos
    from agents.experiment.loader import load_config

    cfg = load_config(str(CONFIGS_DIR / "sim_collect_mineral_shards_perceiver_unit.yaml"), SMALL)
    demos = ScriptedDemos(cfg).collect(1, seed=0)
    moves = demos.actions["action_type"] != 0
    assert moves.any() and (demos.actions["action_type"][moves] == 2).all()  # no_op, Move_pt, Move_unit, Smart_unit
    assert demos.obs["targetable_mask"][moves, demos.actions["target_unit"][moves]].all()
    code = main(["pretrain", str(CONFIGS_DIR / "sim_collect_mineral_shards_perceiver_unit.yaml"), "--episodes", "1", "--epochs", "1",
                 *sets([f"runs_dir={tmp_path}", *SMALL])])  # fmt: skip
    (row,) = [json.loads(line) for line in next(tmp_path.iterdir()).joinpath("progress.jsonl").read_text().splitlines()]
    assert code == 0 and 0 <= row["target_unit_accuracy"] <= 1 and np.isnan(row["location_accuracy"])
    assert "location acc      - | target unit acc" in capsys.readouterr().out


def test_minibatches_are_steps_or_whole_padded_episodes():
    from agents.app.pretrain import Demonstrations, minibatches

    starts = np.array([0, 3, 8])  # episodes of 3 and 5 steps
    demos = Demonstrations({}, {}, np.zeros(8, np.float32), starts, [0.0, 0.0])
    steps = list(minibatches(demos, 3, sequences=False, rng=np.random.default_rng(0)))
    assert sorted(np.concatenate([i for i, _ in steps]).tolist()) == list(range(8)) and all(r.all() for _, r in steps)
    (idx, real), *_ = minibatches(demos, 10, sequences=True, rng=np.random.default_rng(0))
    assert idx.shape == real.shape == (2, 5)
    assert sorted(idx[real].tolist()) == list(range(8)) and real.sum(1).tolist() in ([3, 5], [5, 3])


def test_lstm_policy_pretrains_on_whole_episodes(tmp_path):
    code, run_dir = pretrain(tmp_path, *SMALL, "model.policy.lstm=true", episodes=2, epochs=1)
    (row,) = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()]
    assert (
        code == 0
        and np.isfinite(row["loss"])
        and row["steps"] == json.loads((run_dir / "pretrain.json").read_text())["steps"]
    )


@pytest.mark.parametrize(
    "algorithm", [[], ["algorithm=APPO", "env_runners.rollout_fragment_length=64"]], ids=["PPO", "APPO"]
)
def test_init_from_loads_the_weights_into_learner_and_env_runners(ray_session, pretrained, tmp_path, algorithm):
    from agents.app.train import Trainer, init_checkpoint
    from agents.experiment.checkpoint import load_checkpoint, resolve_checkpoint, target_network_keys
    from agents.experiment.loader import load_config
    from agents.experiment.run_dir import new_run_dir

    cfg = load_config(CONFIG, SMALL + TINY + [f"runs_dir={tmp_path}", *algorithm])
    ckpt = init_checkpoint(cfg, pretrained)
    assert ckpt == resolve_checkpoint(pretrained)
    _, saved, _ = load_checkpoint(ckpt)
    trainer = Trainer(cfg, new_run_dir(cfg), init_from=ckpt)
    try:
        learner = trainer.module()
        state = learner.state_dict()
        targets = target_network_keys(learner)
        assert bool(targets) == (cfg.algorithm == "APPO")
        for key, value in saved.items():
            assert torch.equal(state[key], value), key
        for key in targets:  # APPO's target network starts as a copy of the pretrained policy
            assert torch.equal(state[key], saved["policy." + key.split(".", 1)[1]]), key
        runner = trainer.algo.env_runner.module.state_dict()
        for key, value in runner.items():
            assert torch.equal(value, saved[key]), key
        assert trainer.counters.iteration == 0 and trainer.counters.env_steps == 0
    finally:
        trainer.close()


def test_train_init_from_on_the_command_line(ray_session, pretrained, tmp_path, capsys):
    code = main(
        [
            "train",
            CONFIG,
            "--init-from",
            str(pretrained),
            *sets(SMALL + TINY + [f"runs_dir={tmp_path}", "stop.iterations=1"]),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and f"initialised from {pretrained}" in out and "iter    1" in out


# ------------------------------------------------------------------------------------------ bad input


def _fails(tmp_path, capsys, args, culprit):
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and culprit in err, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "config,args,culprit",
    [
        (CONFIG, ["--demos", "replays"], "--demos: unknown demo source 'replays' (valid: scripted)"),
        ("cartpole_perceiver.yaml", [], "--demos scripted: no scripted agent plays perceiver_rl/Tokens-CartPole-v1"),
        (CONFIG, ["--set", "model.module=default"], "model.module: pretrain clones structured actions"),
        (CONFIG, ["--episodes", "0"], "pretrain.episodes: expected in [1, 10,000], got 0"),
        (CONFIG, ["--set", "pretrain.lr=fast"], "pretrain.lr: expected float, got 'fast'"),
    ],
)
def test_pretrain_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, config, args, culprit):
    _fails(
        tmp_path,
        capsys,
        ["pretrain", str(CONFIGS_DIR / config), "--set", f"runs_dir={tmp_path / 'runs'}", *args],
        culprit,
    )


def test_init_from_bad_input_exits_2_with_one_line_and_writes_nothing(pretrained, tmp_path, capsys):
    train = ["train", CONFIG, "--set", f"runs_dir={tmp_path / 'runs'}", *sets(SMALL)]
    _fails(tmp_path, capsys, [*train, "--init-from", str(tmp_path)], f"--init-from: no checkpoint at {tmp_path}")
    _fails(
        tmp_path, capsys, [*train, "--init-from", str(pretrained), "--set", "model.policy.state_channels=32"],
        "its weights do not fit this config's model (shape: policy.",
    )  # fmt: skip
    _fails(
        tmp_path, capsys, [*train, "--init-from", str(pretrained), "--set", "model.policy.encoder=transformer"],
        "its weights do not fit this config's model (missing: policy.",
    )  # fmt: skip
    _fails(
        tmp_path,
        capsys,
        ["train", "--resume", str(pretrained), "--init-from", str(pretrained)],
        "--init-from: not with --resume",
    )
    _fails(
        tmp_path,
        capsys,
        ["train", "--resume", str(pretrained)],
        "a pretraining run; fine-tune it with train CONFIG --init-from",
    )


# ------------------------------------------------------------------------------------------ imitation


def _cloned(tmp_path, config: str):
    """Pretrain ``config`` on 20 scripted episodes for 20 epochs -> (run directory, 2 held-out demo episodes on
    seeds 10000-10001, the cloned policy)."""
    import gymnasium as gym

    from agents.app.pretrain import ScriptedDemos
    from agents.experiment.loader import load_config
    from agents.rllib.runs import load_module

    code, run_dir = pretrain(tmp_path, episodes=20, epochs=20, config=config)
    assert code == 0
    cfg = load_config(run_dir / "config.yaml")
    held_out = ScriptedDemos(cfg).collect(2, seed=10_000)
    env = gym.make(cfg.env, **cfg.env_config)
    policy = load_module(run_dir, env).policy
    env.close()
    return run_dir, held_out, policy


@pytest.mark.slow
def test_pretrained_policy_imitates_the_scripted_movetobeacon_agent(tmp_path):
    """The committed config (64 grid): 20 demo episodes, 20 epochs (~1.5-2 min on one core). On held-out demo
    states the move's greedy location is the demo's cell to within one cell, and the greedy policy scores
    near the scripted agent (26 on average) with sampled actions."""
    from agents.app.evaluate import evaluate
    from envs.spec import ARGUMENTS

    run_dir, held_out, policy = _cloned(tmp_path, CONFIG)
    with torch.no_grad():  # the location head given the demo's action type (Move_pt)
        out = policy(held_out.obs, actions=held_out.actions)
    takes_location = policy.uses[torch.as_tensor(held_out.actions["action_type"]), ARGUMENTS.index("location")].numpy()
    w = policy.action_spec.spatial_size[1]
    greedy = out.distribution.logits["location"].argmax(-1).numpy()[takes_location]
    demo = held_out.actions["location"][takes_location]
    cells_off = np.maximum(abs(greedy % w - demo % w), abs(greedy // w - demo // w))
    assert takes_location.sum() >= 20 and (cells_off <= 1).mean() >= 0.95, cells_off
    # The cloned policy, sampled, scores well above random (~1; scripted ~26); its greedy play falls into deterministic
    # idle traps after behaviour cloning alone (9.6 +- 8.6 on 20 seeds, docs/results.md), so it is not asserted here;
    # the unit-targeting config's is (the next test).
    result = evaluate(run_dir, None, episodes=10, seed=10_000, explore=True)
    assert result["mean"] >= 15, result["returns"]  # measured 18.0 (random legal actions ~1)


@pytest.mark.slow
def test_pretrained_unit_targeting_policy_imitates_the_scripted_agent_and_scores_near_it_greedily(tmp_path):
    """The unit-targeting config (``Move_unit`` on the beacon; ~1 min on one core): on held-out demo states the
    greedy target is the demo's (the beacon), and the greedy policy scores near the scripted agent (26.7):
    measured 26.55 +- 2.36 over 20 seeds after behaviour cloning alone (docs/results.md)."""
    from agents.app.evaluate import evaluate

    run_dir, held_out, policy = _cloned(tmp_path, str(CONFIGS_DIR / "sim_move_to_beacon_perceiver_unit.yaml"))
    with torch.no_grad():
        out = policy(held_out.obs, deterministic=True)
    assert np.array_equal(out.actions["action_type"].numpy(), held_out.actions["action_type"])
    moves = held_out.actions["action_type"] != 0
    assert moves.sum() >= 20
    assert np.array_equal(out.actions["target_unit"].numpy()[moves], held_out.actions["target_unit"][moves])
    result = evaluate(run_dir, None, episodes=10, seed=10_000)
    assert result["mean"] >= 24, result["returns"]  # greedy; the scripted agent 26.7, random legal actions ~1
