"""Checkpoints across the two worlds (agents/rllib/runs.py): a `perceiver-rl train` run directory into an RLlib
Algorithm / RLModule, a module trained by a plain RLlib script into `perceiver-rl evaluate`; bad input named."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from safetensors.torch import load_file

from agents.app.cli import CONFIGS_DIR, main
from agents.experiment.checkpoint import TARGET_PREFIXES, CheckpointError, resolve_checkpoint
from agents.experiment.config import ConfigError
from agents.rllib import (
    algorithm_from_run,
    perceiver_module_spec,
    rl_module_from_run,
    run_algorithm_config,
    save_run,
)
from agents.rllib.alphastar_module import AlphaStarRLModule
from support.cli import TINY, sets

TOKENS = "perceiver_rl/Tokens-CartPole-v1"
SMALL = {"module": "alphastar", "policy": {"entity_encoder": {"channels": 32, "num_layers": 1, "head_channels": 16, "num_latents": 4},
                                          "state_channels": 32, "head_channels": 32}}  # fmt: skip


class MyModule(DefaultPPOTorchRLModule):
    """A user's own RLModule (RLlib's default one, subclassed): not one that ``save_run`` can describe."""


def _online(state: dict) -> dict:
    """``state`` without target-network weights (APPO's; modules rebuilt from a run make them, empty for PPO)."""
    return {k: v for k, v in state.items() if not k.startswith(TARGET_PREFIXES)}


def _equal(a: dict, b: dict) -> bool:
    a, b = _online(a), _online(b)
    return a.keys() == b.keys() and all(
        torch.equal(torch.as_tensor(np.asarray(a[k])), torch.as_tensor(np.asarray(b[k]))) for k in a
    )


def _obs(n: int = 8) -> dict:
    env = gym.make(TOKENS)
    rows = [env.reset(seed=i)[0] for i in range(n)]
    env.close()
    return {k: torch.as_tensor(np.stack([r[k] for r in rows])) for k in rows[0]}


def test_a_train_run_directory_loads_into_an_rllib_algorithm_and_module(ray_session, tmp_path, capsys):
    config = str(CONFIGS_DIR / "cartpole_perceiver.yaml")
    assert main(["train", config, *sets([*TINY, "stop.iterations=1", f"runs_dir={tmp_path}"])]) == 0
    (run_dir,) = tmp_path.iterdir()
    ckpt = resolve_checkpoint(run_dir)
    saved = load_file(ckpt / "module.safetensors")

    module = rl_module_from_run(run_dir)
    assert isinstance(module, AlphaStarRLModule) and not module.training and _equal(saved, module.state_dict())

    algo = algorithm_from_run(run_dir)
    try:
        assert _equal(saved, algo.learner_group.get_weights()[DEFAULT_MODULE_ID])
        assert _equal(saved, algo.env_runner.module.state_dict())  # the EnvRunner samples with them too
        assert algo.config.train_batch_size_per_learner == 128  # the run's config.yaml, not RLlib's defaults
        assert algo.train()["env_runners"]["num_env_steps_sampled_lifetime"] >= 128
    finally:
        algo.stop()

    other = run_algorithm_config(run_dir).rl_module(rl_module_spec=perceiver_module_spec(TOKENS, SMALL))
    with pytest.raises(CheckpointError, match=rf"^{ckpt}: its weights do not fit this config's model \(.*shape"):
        algorithm_from_run(run_dir, other)


def test_a_module_of_a_plain_rllib_script_is_evaluated_by_perceiver_rl(ray_session, tmp_path, capsys):
    config = (
        PPOConfig()
        .environment(TOKENS)
        .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
        .training(lr=1e-3, train_batch_size_per_learner=128, minibatch_size=64, num_epochs=1, clip_param=0.25)
        .rl_module(rl_module_spec=perceiver_module_spec(TOKENS, SMALL))
        .debugging(seed=3)
    )
    algo = config.build_algo()
    try:
        algo.train()
        run_dir = save_run(algo, runs_dir=tmp_path, name="mine")
        learner = algo.learner_group.get_weights()[DEFAULT_MODULE_ID]
        sampler = algo.env_runner.module
        module_dir = save_run(sampler, runs_dir=tmp_path, name="module", env=TOKENS)
    finally:
        algo.stop()
    assert run_dir.parent == tmp_path and run_dir.name.startswith("mine-")
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (saved["env"], saved["algorithm"], saved["seed"]) == (TOKENS, "PPO", 3)
    assert saved["model"]["module"] == "alphastar" and saved["model"]["policy"]["entity_encoder"]["num_latents"] == 4
    assert saved["training"]["lr"] == 1e-3 and saved["training"]["train_batch_size_per_learner"] == 128
    assert saved["ppo"]["clip_param"] == 0.25 and saved["appo"]["clip_param"] == 0.2  # PPO's own keys: its section
    assert json.loads((resolve_checkpoint(run_dir) / "state.json").read_text())["iteration"] == 1
    assert _equal(learner, load_file(resolve_checkpoint(run_dir) / "module.safetensors"))

    # perceiver-rl evaluate plays it, with the actions the RLlib module takes
    assert main(["evaluate", str(run_dir), "--episodes", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["episodes"] == 2 and len(result["returns"]) == 2
    obs = {Columns.OBS: _obs()}
    greedy = sampler.forward_inference(obs)[Columns.ACTION_DIST_INPUTS]
    for loaded in (rl_module_from_run(run_dir), rl_module_from_run(module_dir)):
        torch.testing.assert_close(loaded.forward_inference(obs)[Columns.ACTION_DIST_INPUTS], greedy)


def test_save_run_names_what_it_cannot_write_and_writes_nothing(tmp_path):
    env = gym.make(TOKENS)
    spec = perceiver_module_spec(TOKENS, SMALL)
    spec.observation_space, spec.action_space = env.observation_space, env.action_space
    ours = spec.build()
    spec_of_mine = RLModuleSpec(module_class=MyModule)
    mine = PPOConfig().environment(TOKENS).rl_module(rl_module_spec=spec_of_mine).get_rl_module_spec(env=env.unwrapped)
    mine = mine.build()
    env.close()
    cases = [
        (lambda: save_run(object(), tmp_path), "save_run: expected an RLlib Algorithm or RLModule, got object"),
        (lambda: save_run(ours, tmp_path), "save_run: env: required with an RLModule"),
        (lambda: save_run(mine, tmp_path, env=TOKENS), "save_run: MyModule is not a perceiver_rl module"),
        (
            lambda: save_run(ours, tmp_path, env="perceiver_rl/Tokens-Acrobot-v1"),
            "save_run(AlphaStarRLModule): its weights do not fit this config's model",
        ),  # fmt: skip
        (lambda: save_run(ours, tmp_path, env=TOKENS, algorithm="DQN"), "algorithm: unknown algorithm 'DQN'"),
    ]
    for call, message in cases:
        with pytest.raises(ConfigError) as e:
            call()
        assert str(e.value).startswith(message), str(e.value)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "env,model,message",
    [
        (TOKENS, {"bogus": 1}, "model.bogus: unknown key"),
        (
            TOKENS,
            {"policy": {"entity_encoder": {"channels": 0}}},
            "model.policy.entity_encoder.channels: expected in [1, 8,192]",
        ),
        ("CartPole-v1", {"module": "alphastar"}, "model.module: 'alphastar' needs observations with entities"),
        (TOKENS, {"policy": {"encoder": "nope"}}, "unknown encoder 'nope'"),
        (TOKENS, {"module": "perceiver"}, "model.module: unknown module 'perceiver'"),
        ("perceiver_rl/Nope-v0", None, "env: unknown environment 'perceiver_rl/Nope-v0'"),
    ],
)
def test_perceiver_module_spec_names_the_bad_key(env, model, message):
    with pytest.raises(ConfigError) as e:
        perceiver_module_spec(env, model)
    assert message in str(e.value), str(e.value)


def test_perceiver_module_spec_builds_the_model_it_was_given():
    env = gym.make(TOKENS)

    def built(model):
        spec = perceiver_module_spec(TOKENS, model)
        spec.observation_space, spec.action_space = env.observation_space, env.action_space
        return spec.module_class, sum(p.numel() for p in spec.build().parameters())

    (cls, small), (_, default) = built(SMALL), built(None)
    env.close()
    assert cls is AlphaStarRLModule and small < default
