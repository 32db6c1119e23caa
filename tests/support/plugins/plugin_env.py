"""A user's plugin (``plugins: [plugin_env]``, this folder on ``PYTHONPATH``) that registers an env id with gymnasium:
``plugin/Tokens-CartPole-v1``, token CartPole under the user's own name. Only processes that import this module know
the id: the EnvRunners make it because ``plugins`` are imported before their env is made."""

import gymnasium as gym

import envs  # noqa: F401 - registers perceiver_rl/Tokens-CartPole-v1


def _make(**kwargs) -> gym.Env:
    return gym.make("perceiver_rl/Tokens-CartPole-v1", **kwargs)


gym.register("plugin/Tokens-CartPole-v1", entry_point=_make)
