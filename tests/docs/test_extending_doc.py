"""docs/extending.md: each recipe's blocks run as written and the extension works (an encoder that a YAML file
names through ``plugins:``, a simulated map that gymnasium makes, an algorithm that the config accepts and RLlib
builds, a command in the parser). Every global registration the blocks make is undone."""

from __future__ import annotations

import math
import re
import sys
import types
from pathlib import Path

import pytest
import torch
import yaml

from agents.app import cli
from agents.experiment.algorithms import ALGORITHM_SECTIONS
from agents.experiment.loader import config_from_dict, read_yaml
from agents.nets.encoders import ENTITY_ENCODERS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "extending.md"


def section(title: str) -> str:
    (text,) = re.findall(rf"^## {title}\n(.*?)(?=^## |\Z)", DOC.read_text(), flags=re.S | re.M)
    return text


def blocks(title: str, lang: str = "python") -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", section(title), flags=re.S)


def plugin(tmp_path: Path, monkeypatch, code: str) -> str:
    """Write a block that starts with ``# name.py`` as that module, importable; returns the module name."""
    name = re.match(r"# (\w+)\.py\n", code).group(1)
    (tmp_path / f"{name}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


def experiment(tmp_path: Path, title: str) -> dict:
    """The recipe's YAML, its ``base:`` relative to the repository root as the page says."""
    (text,) = blocks(title, "yaml")
    data = yaml.safe_load(text)
    data["base"] = str(ROOT / data["base"])
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return read_yaml(path)


def test_every_recipe_is_short():
    for title in ("An entity encoder", "A minigame for the simulator", "An algorithm", "A command"):
        code = blocks(title)
        assert code and all(len(b.strip().splitlines()) <= 30 for b in code), title


def test_an_encoder_from_a_plugin_builds_a_policy_that_runs(tmp_path, monkeypatch):
    from agents.rllib.build import build_module, make_env

    (code,) = blocks("An entity encoder")
    name = plugin(tmp_path, monkeypatch, code)
    try:
        cfg = config_from_dict(experiment(tmp_path, "An entity encoder"))
        assert cfg.plugins == [name] and cfg.model.policy.encoder == "meanpool" in ENTITY_ENCODERS
        env = make_env(cfg.env, cfg.env_config)
        module = build_module(cfg, env)
        assert any(type(m).__name__ == "MeanPoolEncoder" for m in module.modules())
        obs, _ = env.reset(seed=0)
        batch = {"obs": {k: torch.as_tensor(v)[None] for k, v in obs.items()}}
        state = module.get_initial_state()
        if state:
            batch["state_in"] = {k: torch.as_tensor(v)[None] for k, v in state.items()}
        out = module.forward_inference(batch)
        assert out["action_dist_inputs"].shape == (1, 2) and torch.isfinite(out["action_dist_inputs"]).all()
        env.close()
    finally:
        ENTITY_ENCODERS.pop("meanpool", None)


def test_a_minigame_resets_steps_and_scores(tmp_path):
    import gymnasium as gym

    import envs
    from envs.maps import SIMULATOR_ONLY
    from envs.registry import unregister_map
    from envs.sim.catalog import RULES, SIM_MAPS

    (code,) = blocks("A minigame for the simulator")
    namespace: dict = {}
    try:
        exec(compile(code, str(DOC), "exec"), namespace)
        env_id = namespace["env_id"]
        assert env_id == "perceiver_rl/Sim-CollectFiveShards-v0" and env_id in envs.ENV_IDS and env_id in gym.registry
        assert math.isfinite(namespace["score"]) and namespace["score"] > 0
        env = gym.make(env_id)
        obs, _ = env.reset(seed=1)
        assert int(obs["targetable_mask"].sum()) == 5  # the variant's 5 shards
        for _ in range(3):
            obs, reward, *_ = env.step(env.action_space.sample())
            assert math.isfinite(reward)
        env.close()
        with pytest.raises(ValueError, match="exists already"):
            namespace["register_map"](namespace["rules"], seconds=30, action_functions=("no_op",))
    finally:
        if "CollectFiveShards" in SIMULATOR_ONLY:
            unregister_map("CollectFiveShards")
    assert "CollectFiveShards" not in RULES and SIM_MAPS == tuple(RULES)
    assert not any("CollectFiveShards" in i for i in [*envs.ENV_IDS, *gym.registry])


def test_an_algorithm_from_a_plugin_is_accepted_and_builds(tmp_path, monkeypatch):
    from agents.rllib.build import ALGORITHMS, algorithm_config

    (code,) = blocks("An algorithm")
    name = plugin(tmp_path, monkeypatch, code)
    try:
        cfg = config_from_dict(experiment(tmp_path, "An algorithm"))
        assert cfg.plugins == [name] and cfg.algorithm == "LowLRPPO" and cfg.algorithm_section() is cfg.ppo
        config = algorithm_config(cfg)
        assert type(config).__name__ == "LowLRPPOConfig" and config.clip_param == 0.1
        assert config.lr == min(cfg.training.lr, 1e-4)
    finally:
        ALGORITHM_SECTIONS.pop("LowLRPPO", None)
        ALGORITHMS.pop("LowLRPPO", None)


def test_a_command_is_in_the_parser_and_runs(monkeypatch, capsys):
    module_code, cli_code = blocks("A command")
    assert module_code.startswith("# agents/app/commands/hello.py") and "COMMANDS = (" in cli_code
    hello = types.ModuleType("agents.app.commands.hello")
    exec(compile(module_code, str(DOC), "exec"), hello.__dict__)
    monkeypatch.setitem(sys.modules, hello.__name__, hello)
    monkeypatch.setattr(sys.modules["agents.app.commands"], "hello", hello, raising=False)
    namespace = {**vars(cli), "__package__": "agents.app"}
    exec(compile(cli_code, str(DOC), "exec"), namespace)
    assert namespace["COMMANDS"] == (*cli.COMMANDS, hello)
    monkeypatch.setattr(cli, "COMMANDS", namespace["COMMANDS"])
    assert "hello" in cli.parser().format_help()
    assert cli.main(["hello", "--name", "newcomer"]) == 0
    assert capsys.readouterr().out == "hello, newcomer\n"
