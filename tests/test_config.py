import pytest
import yaml

from agents.config import ConfigError, ExperimentConfig, apply_overrides, config_from_dict, load_config


def test_configs_dir_files_all_load():
    from agents.cli import CONFIGS_DIR

    files = sorted(CONFIGS_DIR.glob("*.yaml"))
    assert files
    for f in files:
        cfg = load_config(f)
        assert isinstance(cfg, ExperimentConfig) and cfg.name == f.stem


def test_overrides_apply_and_are_type_checked(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("env: CartPole-v1\ntraining: {lr: 3e-4}\n")
    cfg = load_config(f, ["training.lr=1e-3", "model.lstm=true", "stop.env_steps=null", "model.encoder=transformer"])
    assert cfg.training.lr == 1e-3 and cfg.model.lstm is True and cfg.stop.env_steps is None
    assert cfg.model.encoder == "transformer"
    with pytest.raises(ConfigError, match=r"^model\.num_latents: expected int, got 'many'$"):
        load_config(f, ["model.num_latents=many"])
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
        ({"model": {"num_latents": 1.5}}, "model.num_latents: expected int"),
        ({"model": {"lstm": "yes"}}, "model.lstm: expected bool"),
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

    cfg = config_from_dict({"model": {"num_latents": 7}})
    again = config_from_dict(yaml.safe_load(yaml.safe_dump(dataclasses.asdict(cfg))))
    assert again == cfg
