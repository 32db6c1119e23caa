"""Shared settings of the tests that run real (tiny) trainings through the command line."""

TINY = [
    "stop.iterations=2",
    "stop.env_steps=null",
    "stop.mean_return=null",
    "training.train_batch_size_per_learner=128",
    "training.minibatch_size=64",
    "training.num_epochs=1",
    "env_runners.num_envs_per_env_runner=1",
    "checkpoint_every=1",
]
"""``--set`` overrides that make any config a tiny 2-iteration run."""


def sets(items: list[str]) -> list[str]:
    """``["a=1", "b=2"]`` -> ``["--set", "a=1", "--set", "b=2"]``."""
    return [a for item in items for a in ("--set", item)]
