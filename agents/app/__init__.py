"""The application: the ``perceiver-rl`` command line (``cli`` assembling ``commands``, one module per command), the training loop (``train``), evaluation,
behaviour-cloning pretraining, Ray Tune sweeps, TensorBoard scalars, plots and the SC2LE reference scores. It
builds on ``agents.rllib``, ``agents.experiment`` (the config, checkpoints, run directories) and ``agents.nets``;
nothing below imports it."""
