"""The simulator's two observation paths (tested equal field by field), and their defaults: stated here only.

- :data:`PROTOCOL`: ``sc_pb.ResponseObservation`` protos (each family's ``protocol.py``) turned into numpy by pysc2's
  ``features.transform_obs``: the reference, the game's own code path, every field pysc2 makes;
- :data:`DIRECT`: the arrays ``transform_obs`` would make of them for the fields the contract's converter reads,
  written straight from the simulator's state (each family's ``direct.py``, fields in :mod:`envs.sim.direct_base`):
  fast, for training.
"""

from __future__ import annotations

PROTOCOL = "protocol"
DIRECT = "direct"
OBSERVATION_PATHS = (DIRECT, PROTOCOL)
"""Values of ``SimSC2Env(observations=)`` and ``SC2MinigameEnv(sim_observations=)``."""

DEFAULT_OBSERVATIONS = DIRECT
"""The path of the simulator under the gymnasium adapter when none is named (``SC2MinigameEnv(backend="sim")``, so
every ``Sim-`` id). ``SimSC2Env`` alone, pysc2's drop-in for ``SC2Env``, gives what ``SC2Env`` gives: the
:data:`PROTOCOL` path (pysc2's own agents read fields the direct path does not write) unless told otherwise."""
