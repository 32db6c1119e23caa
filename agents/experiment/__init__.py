"""The experiment, shared by the RLlib layer and the application: the config's schema (``config``, with each
algorithm's own section in ``algorithms``), reading it from YAML (``loader``, older formats in ``migrations``),
user ``plugins``, checkpoints (``checkpoint``) and run directories (``run_dir``).

Below ``agents.rllib`` and ``agents.app``: it may import ``agents.nets`` and ``envs``, never those two nor Ray
(``tests/agents/test_layers.py`` checks the direction of every import)."""
