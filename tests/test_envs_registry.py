"""The env registry: gymnasium + RLlib registration, env checker on every registered id."""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import envs

LOCAL_IDS = [i for i, e in envs.ENV_IDS.items() if not e.needs_game]


def test_register_all_is_idempotent():
    ids = envs.register_all(rllib=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # re-registering would warn "Overriding environment"
        assert envs.register_all(rllib=False) == ids
    assert set(ids) <= set(gym.registry)


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
@pytest.mark.filterwarnings("ignore:.*Box observation space m..imum value is")
@pytest.mark.parametrize("env_id", LOCAL_IDS)
def test_env_checker_passes(env_id):
    envs.register_all(rllib=False)
    env = gym.make(env_id)
    check_env(env, skip_render_check=True)
    contract = envs.contract_of(env)
    obs, _ = env.reset(seed=0)
    if envs.ENV_IDS[env_id].kind == "tokens":
        assert env.observation_space == contract["token_spec"].space()
    else:
        assert env.observation_space == contract["obs_spec"].space()
        assert env.action_space == contract["act_spec"].space()
        contract["obs_spec"].validate(obs)
    env.close()


def test_rllib_names_create_the_envs():
    from ray.tune.registry import ENV_CREATOR, _global_registry

    envs.register_all()
    env_id = "perceiver_rl/Tokens-CartPole-v1"
    env = _global_registry.get(ENV_CREATOR, env_id)({"num_bands": 2})
    assert envs.contract_of(env)["token_spec"].token_features == 1 + (1 + 2 * 2) + 1
    env.close()


def test_unknown_env_id_lists_valid_ones():
    with pytest.raises(ValueError, match="Tokens-CartPole-v1"):
        envs.make_entry("perceiver_rl/Nope-v0")
