"""Each algorithm's hyper-parameters: ``training:`` holds the keys RLlib's ``AlgorithmConfig.training`` declares for
every algorithm, each algorithm's section the keys only its own ``training()`` declares, and the two registries
(the config's sections, RLlib's config classes) name the same algorithms."""

import dataclasses
import inspect

import pytest
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

from agents.app.cli import CONFIGS_DIR
from agents.experiment.algorithms import ALGORITHM_SECTIONS
from agents.experiment.config import ExperimentConfig, TrainingConfig
from agents.experiment.loader import config_from_dict
from agents.rllib.build import ALGORITHMS


def _keys(method) -> set[str]:
    return set(inspect.signature(method).parameters) - {"self", "kwargs"}


def test_the_registries_name_the_same_algorithms():
    assert list(ALGORITHMS) == list(ALGORITHM_SECTIONS)
    fields = {f.name for f in dataclasses.fields(ExperimentConfig)}
    assert set(ALGORITHM_SECTIONS.values()) <= fields


def test_training_holds_the_keys_of_every_algorithm():
    assert {f.name for f in dataclasses.fields(TrainingConfig)} <= _keys(AlgorithmConfig.training)


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_a_section_holds_keys_of_its_algorithm_alone(algorithm):
    """Its keys are declared by the algorithm's own ``training()`` (or a parent's below AlgorithmConfig), not by
    ``AlgorithmConfig.training``, and the RLlib config class takes the section as the builder passes it."""
    config_class = ALGORITHMS[algorithm]
    section = config_from_dict(
        {"algorithm": algorithm, "env_runners": {"rollout_fragment_length": 50}}
    ).algorithm_section()
    parents = [c for c in config_class.__mro__ if issubclass(c, AlgorithmConfig) and c is not AlgorithmConfig]
    own = set().union(*(_keys(c.training) for c in parents if "training" in vars(c)))
    keys = {f.name for f in dataclasses.fields(section)}
    assert keys <= own and not keys & _keys(AlgorithmConfig.training)
    config = config_class().training(**dataclasses.asdict(section))
    assert all(getattr(config, key) == value for key, value in dataclasses.asdict(section).items())


def test_an_algorithm_with_a_section_but_no_rllib_class_is_a_config_error(monkeypatch):
    from agents.experiment.config import ConfigError
    from agents.experiment.loader import load_config
    from agents.rllib.build import algorithm_config

    monkeypatch.delitem(ALGORITHMS, "APPO")  # as a plugin that registered only the section would leave it
    cfg = load_config(CONFIGS_DIR / "cartpole_perceiver_appo.yaml")
    with pytest.raises(ConfigError, match=r"^algorithm: unknown algorithm 'APPO' \(valid: PPO\)"):
        algorithm_config(cfg)


def test_a_run_records_the_env_id_not_the_rllib_name_that_imports_plugins_or_injects_faults():
    from agents.experiment.config import FaultConfig
    from agents.rllib.faults import env_id_of, register_rllib_env

    env = "perceiver_rl/Tokens-CartPole-v1"
    for plugins, faults in (([], FaultConfig(crash_prob=0.1)), (["plugin"], None), (["plugin"], FaultConfig())):
        name = register_rllib_env(env, plugins, faults)
        assert name != env and env_id_of(name) == env
    assert env_id_of(env) == env
