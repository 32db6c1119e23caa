import json

import pytest
import yaml

from agents.experiment.config import ConfigError, ExperimentConfig
from agents.experiment.loader import apply_overrides, config_from_dict, load_config


def test_configs_dir_files_all_load():
    from agents.app.cli import CONFIGS_DIR

    files = sorted(CONFIGS_DIR.glob("*.yaml"))
    assert files
    for f in files:
        cfg = load_config(f)
        assert isinstance(cfg, ExperimentConfig) and cfg.name == f.stem


def test_overrides_apply_and_are_type_checked(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("env: CartPole-v1\ntraining: {lr: 3e-4}\n")
    overrides = [
        "training.lr=1e-3",
        "model.policy.lstm=true",
        "stop.env_steps=null",
        "model.policy.encoder=transformer",
    ]
    cfg = load_config(f, overrides)
    assert cfg.training.lr == 1e-3 and cfg.model.policy.lstm is True and cfg.stop.env_steps is None
    assert cfg.model.policy.encoder == "transformer"
    with pytest.raises(ConfigError, match=r"^model\.policy\.entity_encoder\.num_latents: expected int, got 'many'$"):
        load_config(f, ["model.policy.entity_encoder.num_latents=many"])
    with pytest.raises(ConfigError, match=r"^training\.bogus: unknown key"):
        load_config(f, ["training.bogus=1"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(f, ["training.lr"])
    with pytest.raises(ConfigError, match=r"env is not a mapping"):
        apply_overrides({"env": "x"}, ["env.sub=1"])


@pytest.mark.parametrize(
    "data,culprit",
    [
        ({"nope": 1}, "nope: unknown key"),
        (
            {"model": {"policy": {"entity_encoder": {"num_latents": 1.5}}}},
            "model.policy.entity_encoder.num_latents: expected int",
        ),
        ({"model": {"policy": {"lstm": "yes"}}}, "model.policy.lstm: expected bool"),
        ({"model": {"token_net": {"lstm": True}}}, "model.token_net: unknown key"),
        (
            {"model": {"policy": {"entity_encoder": {"entity_features": 5}}}},
            "model.policy.entity_encoder.entity_features: unknown key",
        ),
        ({"stop": {"mean_return": "high"}}, "stop.mean_return: expected float or null"),
        ({"training": []}, "training: expected a mapping"),
    ],
)
def test_bad_config_names_the_key(data, culprit):
    with pytest.raises(ConfigError, match="^" + culprit.replace(".", r"\.")):
        config_from_dict(data)


def test_yaml_is_safe_loaded_only(tmp_path):
    f = tmp_path / "evil.yaml"
    f.write_text("env: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(ConfigError, match="not valid safe YAML"):
        load_config(f)
    assert not (tmp_path / "pwned").exists()


def test_missing_file():
    with pytest.raises(ConfigError, match="config file not found: /nonexistent.yaml"):
        load_config("/nonexistent.yaml")


def test_round_trip_through_yaml():
    import dataclasses

    cfg = config_from_dict(
        {"model": {"policy": {"entity_encoder": {"num_latents": 7}}, "default": {"fcnet_hiddens": [8]}}}
    )
    again = config_from_dict(yaml.safe_load(yaml.safe_dump(dataclasses.asdict(cfg))))
    assert again == cfg


# ------------------------------------------------------------------------------------- the model: section


def _leaves(cls, prefix=""):
    """``(dotted path, default)`` of every non-dataclass field of ``cls``, through its nested sections."""
    import dataclasses

    for f in dataclasses.fields(cls):
        default = getattr(cls(), f.name)
        if dataclasses.is_dataclass(default):
            yield from _leaves(type(default), f"{prefix}{f.name}.")
        else:
            yield prefix + f.name, default


OTHER_NAMES = {"module": "default", "encoder": "transformer", "heads": "mlp"}


def _other(name, default):
    """A valid value of the field ``name`` that is not its default."""
    if isinstance(default, bool):
        return not default
    if isinstance(default, str):
        return OTHER_NAMES[name]
    if isinstance(default, list):
        return [2 * x for x in default]
    if isinstance(default, float):
        return default + 0.5
    return 2 * default or 1


def test_every_model_field_is_settable_with_set(tmp_path):
    from agents.experiment.config import ModelConfig

    f = tmp_path / "x.yaml"
    f.write_text("env: CartPole-v1\n")
    leaves = list(_leaves(ModelConfig))
    some = {"policy.entity_encoder.num_latents", "policy.state_channels", "policy.heads", "default.fcnet_hiddens"}
    assert some <= {path for path, _ in leaves}
    for path, default in leaves:
        value = _other(path.rsplit(".", 1)[-1], default)
        node = load_config(f, [f"model.{path}={json.dumps(value)}"]).model  # JSON values are YAML
        for name in path.split("."):
            node = getattr(node, name)
        assert node == value and node != default, path


@pytest.mark.parametrize(
    "env,model,says",
    [  # the flat section before the sections (Nov 2026)
        ("Sim-MoveToBeacon-v0", "  module: alphastar\n  encoder: perceiver\n  num_latents: 16\n  latent_channels: 64\n  hidden: 64\n",
         "encoder, hidden, latent_channels (+1 more) of the flat model section now live in model.policy"),
        # the token envs' own module before the one policy family (Nov 2026)
        ("Tokens-CartPole-v1", "  module: perceiver\n  token_net:\n    encoder: perceiver\n    num_latents: 8\n    hidden: 64\n",
         "module perceiver and its model.token_net section are gone; token envs use module alphastar"),
        ("Tokens-CartPole-v1", "  module: perceiver\n", "module perceiver and its model.token_net section are gone"),
        ("Tokens-CartPole-v1", "  module: alphastar\n  token_net: {lstm: true}\n", "module perceiver and its model.token_net section are gone"),
    ],
)  # fmt: skip
def test_old_model_formats_are_refused_naming_the_format_change(tmp_path, env, model, says):
    from agents.experiment.loader import load_saved_config

    saved = tmp_path / "config.yaml"
    saved.write_text(f"env: perceiver_rl/{env}\nmodel:\n{model}  max_seq_len: 20\n")
    for load in (load_saved_config, load_config):
        with pytest.raises(ConfigError) as err:
            load(saved)
        message = str(err.value)
        assert message.startswith(f"{saved}: model: the config format changed (Nov 2026): ") and "\n" not in message, (
            message
        )
        assert says in message, message


def test_every_config_builds_its_module_with_its_section_unchanged():
    """Every configs/*.yaml builds its RLModule on the CPU without a Ray cluster (the real-game SC2 configs:
    the config only, their env needs StarCraft II), and the module holds the config's own section."""
    from agents.app.cli import CONFIGS_DIR
    from agents.rllib.build import build_module, check_choices, make_env

    built = 0
    for f in sorted(CONFIGS_DIR.glob("*.yaml")):
        cfg = load_config(f)
        check_choices(cfg)
        if cfg.env.startswith("perceiver_rl/SC2-"):
            continue
        env = make_env(cfg.env, cfg.env_config)
        try:
            module = build_module(cfg, env)
        finally:
            env.close()
        if cfg.model.module == "alphastar":
            assert module.policy.config == cfg.model.policy, f.name
        else:
            assert module.model_config["fcnet_hiddens"] == cfg.model.default.fcnet_hiddens, f.name
        built += 1
    assert built >= 10


def test_a_nested_override_reaches_the_entity_encoder():
    from agents.app.cli import CONFIGS_DIR
    from agents.rllib.build import build_module, make_env

    cfg = load_config(CONFIGS_DIR / "sim_move_to_beacon_perceiver.yaml", ["model.policy.entity_encoder.num_latents=3"])
    env = make_env(cfg.env, cfg.env_config)
    try:
        module = build_module(cfg, env)
    finally:
        env.close()
    encoder = module.policy.torso.entity_encoder
    assert encoder.config == cfg.model.policy.entity_encoder and encoder.encoder.latents.shape == (3, 64)


def test_a_run_directory_saves_the_model_sections_and_reads_them_back(tmp_path):
    from agents.app.cli import CONFIGS_DIR
    from agents.experiment.loader import load_saved_config
    from agents.experiment.run_dir import new_run_dir

    cfg = load_config(CONFIGS_DIR / "sim_move_to_beacon_perceiver.yaml", [f"runs_dir={tmp_path}"])
    run_dir = new_run_dir(cfg)
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())["model"]
    assert set(saved) == {"module", "max_seq_len", "policy", "default"}
    assert saved["policy"]["entity_encoder"] == {"channels": 64, "num_layers": 1, "num_heads": 2, "head_channels": 32,
                                                 "widening_factor": 4, "num_latents": 16, "cross_attention_widening_factor": 4,
                                                 "self_attention_widening_factor": 4, "decoder_widening_factor": 1}  # fmt: skip
    assert load_saved_config(run_dir / "config.yaml") == cfg


def test_a_run_saved_before_the_perceivers_own_widenings_loads_with_the_widths_it_was_trained_with(tmp_path):
    """Runs saved before Dec 2026 built the Perceiver's cross- and latent MLPs with ``widening_factor``."""
    from agents.app.cli import CONFIGS_DIR
    from agents.experiment.loader import load_saved_config
    from agents.experiment.run_dir import new_run_dir

    cfg = load_config(CONFIGS_DIR / "sim_move_to_beacon_perceiver.yaml", [f"runs_dir={tmp_path}"])
    path = new_run_dir(cfg) / "config.yaml"
    saved = yaml.safe_load(path.read_text())
    encoder = saved["model"]["policy"]["entity_encoder"]
    del encoder["cross_attention_widening_factor"], encoder["self_attention_widening_factor"]
    encoder["widening_factor"] = 3
    path.write_text(yaml.safe_dump(saved))
    loaded = load_saved_config(path).model.policy.entity_encoder
    assert (loaded.cross_attention_widening_factor, loaded.self_attention_widening_factor) == (3, 3)
    encoder["self_attention_widening_factor"] = 1  # a run saved after the change: taken as written
    path.write_text(yaml.safe_dump(saved))
    assert load_saved_config(path).model.policy.entity_encoder.cross_attention_widening_factor == 1


# ------------------------------------------------------------------------------- each algorithm's own section


@pytest.mark.parametrize("config", ["cartpole_perceiver.yaml", "cartpole_perceiver_appo.yaml"])
def test_a_run_saved_before_the_algorithm_sections_loads_with_the_keys_it_was_trained_with(tmp_path, config):
    """Runs saved before Dec 2026 hold PPO's keys (clip_param, lambda_, ...) in ``training:``, for PPO and APPO."""
    from agents.app.cli import CONFIGS_DIR
    from agents.experiment.loader import load_saved_config
    from agents.experiment.run_dir import new_run_dir

    overrides = [f"runs_dir={tmp_path}", "ppo.clip_param=0.3", "appo.clip_param=0.3", "ppo.use_kl_loss=true"]
    cfg = load_config(CONFIGS_DIR / config, overrides)
    path = new_run_dir(cfg) / "config.yaml"
    saved = yaml.safe_load(path.read_text())
    section = {"PPO": "ppo", "APPO": "appo"}[cfg.algorithm]
    saved["training"].update(saved.pop(section))
    del saved["ppo" if section == "appo" else "appo"], saved["plugins"]
    path.write_text(yaml.safe_dump(saved))
    loaded = load_saved_config(path)
    assert loaded.training == cfg.training and loaded.algorithm_section() == cfg.algorithm_section()
    assert load_saved_config(path, [f"{section}.clip_param=0.4"]).algorithm_section().clip_param == 0.4


@pytest.mark.parametrize("algorithm,section", [("PPO", "ppo"), ("APPO", "appo")])
def test_an_algorithms_own_key_under_training_names_its_new_place(tmp_path, algorithm, section):
    f = tmp_path / "x.yaml"
    f.write_text(f"algorithm: {algorithm}\nenv_runners: {{rollout_fragment_length: 50}}\ntraining: {{lr: 1e-3}}\n")
    expected = rf"^training\.clip_param: moved to {section}\.clip_param \(Dec 2026: each algorithm's own keys"
    with pytest.raises(ConfigError, match=expected):
        load_config(f, ["training.clip_param=0.3"])
    assert getattr(load_config(f, [f"{section}.clip_param=0.3"]), section).clip_param == 0.3


def test_only_the_algorithms_own_section_is_read():
    ppo = config_from_dict({"algorithm": "PPO", "ppo": {"clip_param": 0.3}, "appo": {"clip_param": 0.1}})
    appo = config_from_dict({"algorithm": "APPO", "ppo": {"clip_param": 0.3}, "appo": {"clip_param": 0.1},
                             "env_runners": {"rollout_fragment_length": 50}})  # fmt: skip
    assert ppo.algorithm_section().clip_param == 0.3 and appo.algorithm_section().clip_param == 0.1
    with pytest.raises(ConfigError, match=r"^algorithm: unknown algorithm 'DQN' \(valid: PPO, APPO\)$"):
        config_from_dict({"algorithm": "DQN"})
