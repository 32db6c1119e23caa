"""The one place that imports pysc2. Everything else in envs/ imports pysc2 pieces from here.

We use ``pysc2-evolved`` (module ``pysc2_evolved``), not DeepMind's ``pysc2``: ``pysc2==4.0.0``
does not import on Python 3.11 with protobuf 7 (its s2clientprotocol ships old-style generated
protos, and ``lib/colors.py`` calls ``random.shuffle(x, fn)``, removed in Python 3.11).
``pysc2-evolved`` 1.1.1 is the maintained fork; it imports beside ray 2.60 in either order.
Keeping the import here means a future switch of fork touches one file (see docs/envs.md). It sits at the
bottom of envs/ (it imports only :mod:`envs.maps`), so that the adapter (``envs/sc2/``) and the simulator
(``envs/sim/``) both use it and neither imports the other for it. It also checks, when pysc2 is imported, that
pysc2's minigame list is still :data:`envs.maps.MINIGAME_INFO`'s.
"""

from __future__ import annotations

import logging
import os

from envs.maps import MINIGAME_INFO

# pysc2's human renderer imports pygame, which prints a banner on import.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# pysc2 wraps its hot functions in a (disabled) stopwatch unless this is set at import: ~20% of transform_obs.
os.environ.setdefault("SC2_NO_STOPWATCH", "1")
# pysc2_evolved/settings.py calls logging.warning(...) at import; with no root handler that would run
# logging.basicConfig() and change the user's logging. A temporary NullHandler swallows it instead.
_quiet = logging.NullHandler()
logging.getLogger().addHandler(_quiet)
try:
    from pysc2_evolved import settings as _settings  # noqa: F401
finally:
    logging.getLogger().removeHandler(_quiet)

from pysc2_evolved import maps, run_configs  # noqa: E402
from pysc2_evolved.env import environment, mock_sc2_env, sc2_env  # noqa: E402
from pysc2_evolved.lib import actions, features, named_array, point, transform, units  # noqa: E402
from pysc2_evolved.lib.features_types import PlayerRelative  # noqa: E402
from pysc2_evolved.maps import lib as maps_lib  # noqa: E402
from pysc2_evolved.maps import mini_games  # noqa: E402
from s2clientprotocol import common_pb2, raw_pb2, score_pb2  # noqa: E402
from s2clientprotocol import sc2api_pb2 as sc_pb  # noqa: E402

PYSC2_MODULE = "pysc2_evolved"
PACKAGED_MAPS_DIR = os.path.join(os.path.dirname(maps.__file__), "mini_games")
"""The wheel ships DeepMind's minigame .SC2Map files here; the game reads them from $SC2PATH/Maps/mini_games."""
MINIGAMES: tuple[str, ...] = tuple(sorted(mini_games.mini_games))
"""The seven SC2LE minigames, by map name."""
assert set(MINIGAME_INFO) == set(MINIGAMES), "pysc2's minigame list changed: update envs.maps.MINIGAME_INFO"

FeatureUnit = features.FeatureUnit
MinimapFeatures = features.MINIMAP_FEATURES
RAW_FUNCTIONS = actions.RAW_FUNCTIONS
FunctionCall = actions.FunctionCall
StepType = environment.StepType
TimeStep = environment.TimeStep
NoMapError = maps_lib.NoMapError

__all__ = [
    "MINIGAMES",
    "PACKAGED_MAPS_DIR",
    "PYSC2_MODULE",
    "RAW_FUNCTIONS",
    "FeatureUnit",
    "FunctionCall",
    "MinimapFeatures",
    "NoMapError",
    "PlayerRelative",
    "StepType",
    "TimeStep",
    "actions",
    "common_pb2",
    "environment",
    "features",
    "maps",
    "mock_sc2_env",
    "named_array",
    "point",
    "raw_pb2",
    "run_configs",
    "sc2_env",
    "sc_pb",
    "score_pb2",
    "transform",
    "units",
]
