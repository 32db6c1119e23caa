"""The policy family's networks in pure PyTorch: the torso (entity / spatial / scalar encoders, the LSTM core),
AlphaStar's structured heads and the action-space heads, their distributions, and the registries that name the
swappable parts. Nothing here imports Ray (``tests/envs/test_envs_imports.py`` checks it); the RLlib glue is
``agents.rllib``, the experiment config ``agents.experiment``, the command line ``agents.app``."""
