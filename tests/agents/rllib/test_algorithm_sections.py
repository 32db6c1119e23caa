"""Each algorithm's hyper-parameters: ``training:`` holds the keys RLlib's ``AlgorithmConfig.training`` declares for
every algorithm, each algorithm's section the keys only its own ``training()`` declares, and the two registries
(the config's sections, RLlib's config classes) name the same algorithms."""

import dataclasses
import inspect

import pytest
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

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
