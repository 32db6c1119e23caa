"""A user's env through the one mechanism, ``plugins`` (issue 32): an id that a user module registers (the module on
``PYTHONPATH``, as an installed package would be) trains with an EnvRunner process as ``env: module:id`` and as
``plugins: [module]`` + ``env: id``, the run evaluates in a process that has not imported the module; a missing
registration is one line; ``perceiver_module_spec`` takes an id, a class or a creator, and its EnvRunners make a
plugin's id; ``save_run`` / ``rl_module_from_run`` handle RLlib's default module."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml
from gymnasium.envs.classic_control import CartPoleEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core import DEFAULT_MODULE_ID
from safetensors.torch import load_file

from agents.app.cli import CONFIGS_DIR, main
from agents.experiment.checkpoint import resolve_checkpoint
from agents.experiment.config import ConfigError
from agents.rllib import perceiver_module_spec, register_user_env, rl_module_from_run, save_run
from agents.rllib.alphastar_module import AlphaStarRLModule
from support.cli import TINY, sets

MODULE, ENV_ID = "user_env_mod32", "UserCartPole-v0"
"""The user's module (written under a temporary folder) and the id it registers: CartPole cut to 50 steps."""
SOURCE = f'''
import gymnasium as gym
from gymnasium.envs.classic_control import CartPoleEnv


class UserCartPole(CartPoleEnv):
    """The user's own env class."""


gym.register("{ENV_ID}", entry_point=UserCartPole, max_episode_steps=50)
'''
MLP = str(CONFIGS_DIR / "cartpole_mlp.yaml")
ONE_RUNNER = [*TINY, "env_runners.num_env_runners=1", "model.default.fcnet_hiddens=[16]"]


def _forget_user_module() -> None:
    """This process as one that never imported the user's module: neither it nor its id."""
    sys.modules.pop(MODULE, None)
    gym.registry.pop(ENV_ID, None)


@pytest.fixture(scope="module")
def user_cluster(tmp_path_factory):
    """The user's module on ``PYTHONPATH`` (the Ray processes inherit it) and ``sys.path``; a 2-CPU Ray session."""
    import ray

    folder = tmp_path_factory.mktemp("user")
    (folder / f"{MODULE}.py").write_text(SOURCE)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), old]))
    sys.path.insert(0, str(folder))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield folder
    finally:
        ray.shutdown()
        sys.path.remove(str(folder))
        os.environ.pop("PYTHONPATH") if old is None else os.environ.__setitem__("PYTHONPATH", old)
        _forget_user_module()


@pytest.fixture(scope="module")
def trained(user_cluster, tmp_path_factory) -> dict[str, Path]:
    """Two tiny runs (2 iterations, 1 EnvRunner): ``env: module:id`` and ``plugins: [module]`` + ``env: id``."""
    runs = {}
    for label, keys in (
        ("module_id", [f"env={MODULE}:{ENV_ID}"]),
        ("plugins", [f"plugins=[{MODULE}]", f"env={ENV_ID}"]),
    ):
        _forget_user_module()  # the config imports it
        runs_dir = tmp_path_factory.mktemp(label)
        assert main(["train", MLP, *sets([*ONE_RUNNER, *keys, f"runs_dir={runs_dir}", f"name={label}"])]) == 0
        (runs[label],) = runs_dir.iterdir()
    return runs


def test_a_plugin_env_trains_with_an_env_runner_in_both_forms_and_the_run_records_it(trained, capsys):
    for run_dir in trained.values():
        saved = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert (saved["env"], saved["plugins"]) == (ENV_ID, [MODULE])  # the module of module:id is a plugin
        rows = [json.loads(line) for line in (run_dir / "progress.jsonl").read_text().splitlines()]
        assert [row["iteration"] for row in rows] == [1, 2] and rows[-1]["env_steps"] >= 256
        assert rows[-1]["healthy_env_runners"] == 1 and rows[-1]["env_runner_restarts"] == 0


def test_the_run_evaluates_in_a_process_without_the_module_and_with_evaluate_env_module_id(trained, capsys):
    run_dir = str(trained["module_id"])
    _forget_user_module()  # config.yaml's plugins import it again
    assert main(["evaluate", run_dir, "--episodes", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["env"] == ENV_ID
    _forget_user_module()
    assert main(["evaluate", str(trained["plugins"]), "--env", f"{MODULE}:{ENV_ID}", "--episodes", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["env"] == ENV_ID


@pytest.mark.parametrize(
    "keys,line",
    [
        (
            [f"env={MODULE}:Nope-v0"],
            f"env: unknown environment 'Nope-v0' (registered by none of plugins ['{MODULE}']; "
            "`perceiver-rl list` shows the built-in ids)",
        ),
        (
            ["env=Nope-v0"],
            "env: unknown environment 'Nope-v0' (registered by none of plugins []: a module that registers it goes "
            "in plugins, or before the id as MODULE:ID; `perceiver-rl list` shows the built-in ids)",
        ),
        (
            ["env=no_such_module32:Nope-v0"],
            "env: cannot import module 'no_such_module32' of 'no_such_module32:Nope-v0' "
            "(ModuleNotFoundError: No module named 'no_such_module32')",
        ),
    ],
)
def test_a_missing_registration_exits_2_in_one_line_and_writes_nothing(user_cluster, tmp_path, capsys, keys, line):
    assert main(["train", MLP, *sets([*ONE_RUNNER, *keys, f"runs_dir={tmp_path}"])]) == 2
    assert capsys.readouterr().err == f"perceiver-rl: error: {line}\n"
    assert list(tmp_path.iterdir()) == []


def test_evaluate_env_names_an_unknown_id_in_one_line(trained, capsys):
    assert main(["evaluate", str(trained["plugins"]), "--env", f"{MODULE}:Nope-v0", "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"perceiver-rl: error: --env: unknown environment 'Nope-v0' (registered by none of plugins ['{MODULE}']; "
        "`perceiver-rl list` shows the built-in ids)\n"
    )


def test_tune_trials_of_a_module_id_env_carry_the_module_as_a_plugin(user_cluster):
    from agents.app.sweep import plan_trials
    from agents.experiment.loader import load_config

    base = load_config(MLP, [f"env={MODULE}:{ENV_ID}"])
    trials = plan_trials(base, {"training.lr": ["1e-4", "3e-4"]})
    assert [(t.config.env, t.config.plugins) for t in trials] == [(ENV_ID, [MODULE])] * 2  # each trial's config.yaml
    with pytest.raises(ConfigError, match=rf"^--grid env: values {ENV_ID} and {MODULE}:{ENV_ID} are the same"):
        plan_trials(base, {"env": [ENV_ID, f"{MODULE}:{ENV_ID}"]})


class ConfiguredCartPole(CartPoleEnv):
    """A user's env class, made as RLlib makes one: ``ConfiguredCartPole(env_config)``."""

    def __init__(self, env_config=None):
        super().__init__()
        self.env_config = dict(env_config or {})


def test_perceiver_module_spec_takes_a_class_and_a_creator():
    spec = perceiver_module_spec(ConfiguredCartPole, {"module": "default", "default": {"fcnet_hiddens": [8]}})
    assert spec.module_class is None and spec.model_config == {"fcnet_hiddens": [8]}  # RLlib's MLP
    assert register_user_env(ConfiguredCartPole) == register_user_env(ConfiguredCartPole)  # one name per class
    assert gym.make(register_user_env(ConfiguredCartPole), size=3).unwrapped.env_config == {"size": 3}

    def creator(env_config):
        return gym.make("perceiver_rl/Tokens-CartPole-v1", **env_config)

    spec = perceiver_module_spec(creator, {"module": "alphastar"})
    assert spec.module_class is AlphaStarRLModule
    name = register_user_env(creator)
    assert name.startswith("user_env/") and name != register_user_env(lambda env_config: creator(env_config))
    with pytest.raises(ConfigError, match=r"^env: expected an env id, a gymnasium.Env subclass or a creator"):
        perceiver_module_spec(3)


def test_an_env_a_plugin_registers_runs_in_rllib_env_runners_and_save_run_writes_the_default_module(
    user_cluster, tmp_path, capsys
):
    _forget_user_module()
    model = {"module": "default", "default": {"fcnet_hiddens": [16]}}
    config = (
        PPOConfig()
        .environment(ENV_ID)  # RLlib's IndexError before: the EnvRunner did not know the id
        .env_runners(num_env_runners=1, num_envs_per_env_runner=1)
        .training(train_batch_size_per_learner=64, minibatch_size=32, num_epochs=1)
        .rl_module(rl_module_spec=perceiver_module_spec(ENV_ID, model, plugins=[MODULE]))
    )
    algo = config.build_algo()
    try:
        assert algo.train()["env_runners"]["num_env_steps_sampled_lifetime"] >= 64
        run_dir = save_run(algo, runs_dir=tmp_path, name="user")
        learner = algo.learner_group.get_weights()[DEFAULT_MODULE_ID]
    finally:
        algo.stop()
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (saved["env"], saved["plugins"], saved["model"]["module"]) == (ENV_ID, [MODULE], "default")
    assert saved["model"]["default"] == {"fcnet_hiddens": [16]}
    weights = load_file(resolve_checkpoint(run_dir) / "module.safetensors")
    assert weights.keys() == learner.keys()
    module = rl_module_from_run(run_dir)
    assert all(torch.equal(module.state_dict()[k], torch.as_tensor(np.asarray(v))) for k, v in learner.items())


def test_save_run_of_a_default_module_round_trips_and_names_what_config_yaml_cannot_hold(tmp_path):
    env = gym.make("CartPole-v1")

    def module(**model_config):
        spec = PPOConfig().environment("CartPole-v1").rl_module(model_config=model_config)
        return spec.get_rl_module_spec(env=env.unwrapped).build()

    plain = module()  # RLlib's own defaults: fcnet_hiddens [256, 256]
    run_dir = save_run(plain, tmp_path, env="CartPole-v1")
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["model"]["default"] == {"fcnet_hiddens": [256, 256]}
    loaded = rl_module_from_run(run_dir)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in plain.state_dict().items())
    with pytest.raises(ConfigError) as e:
        save_run(module(fcnet_hiddens=[8], fcnet_activation="relu"), tmp_path, env="CartPole-v1")
    assert str(e.value) == (
        "save_run: model_config.fcnet_activation: 'relu' cannot be written to config.yaml (model.default has "
        "fcnet_hiddens); rebuilt from it the module would have 'tanh'"
    )
    env.close()
    assert [p.name for p in tmp_path.iterdir()] == [run_dir.name]
