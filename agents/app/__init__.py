"""The application: the ``perceiver-rl`` command line (``cli``), the typed experiment config (``config``), the
training loop (``train``), evaluation, behaviour-cloning pretraining, Ray Tune sweeps, checkpoints, TensorBoard
scalars, plots and the SC2LE reference scores. It builds on ``agents.nets`` and ``agents.rllib``."""
