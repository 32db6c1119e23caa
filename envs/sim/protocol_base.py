"""What the protocol path shares across families: the game info, the player's ids, and the minimap geometry of
``sc_pb.ResponseObservation`` protos.

Built the way pysc2's own mock env builds them (``mock_sc2_env._make_dummy_game_info`` for the game info, the fields
``tests/dummy_observation.Builder`` fills for an observation), so that pysc2's ``features`` code turns them into the
very structures the real game produces. Each family's builder (``pickups/protocol.py``, ``combat/protocol.py``) writes
its units and planes on this base.
"""

from __future__ import annotations

import math

import numpy as np

from envs.pysc2_compat import mock_sc2_env, sc_pb
from envs.sim.geometry import MapConfig

SELF_PLAYER_ID = 1
FOOD_CAP = 15
"""The player's food cap in every observation (not checked against the game)."""


def game_info(players, interface_formats, config: MapConfig) -> list[sc_pb.ResponseGameInfo]:
    """pysc2's dummy game info with the simulated map's size and playable area."""
    infos = mock_sc2_env._make_dummy_game_info(players, interface_formats)
    x0, y0, x1, y1 = (int(v) for v in config.playable)
    for info in infos:
        info.start_raw.map_size.x = info.start_raw.map_size.y = config.map_size
        info.start_raw.playable_area.p0.x, info.start_raw.playable_area.p0.y = x0, y0
        info.start_raw.playable_area.p1.x, info.start_raw.playable_area.p1.y = x1, y1
    return infos


class ProtocolWriter:
    """A map's minimap at a given resolution ``minimap = (W, H)``: pysc2's world -> minimap pixel, the planes' format,
    and the constant planes (``camera`` and ``pathable``: the playable area; ``selected``: empty)."""

    def __init__(self, config: MapConfig, minimap: tuple[int, int]):
        self._config = config
        self._w, self._h = minimap
        self._scale = (self._w / config.map_size, self._h / config.map_size)
        x0, y0, x1, y1 = config.playable
        pathable = np.zeros((self._h, self._w), np.uint8)
        (c0, r0), (c1, r1) = self._cell(x0, y1), self._cell(x1, y0)
        pathable[r0:r1, c0:c1] = 1
        self._camera = self._pathable_bytes = pathable.tobytes()
        self._empty = bytes(self._w * self._h)

    def _cell(self, x: float, y: float) -> tuple[int, int]:
        """World point -> minimap ``(col, row)``: pysc2's world->minimap transform (y flipped, floor), clipped."""
        col = int(math.floor(x * self._scale[0]))
        row = int(math.floor((self._config.map_size - y) * self._scale[1]))
        return min(max(col, 0), self._w - 1), min(max(row, 0), self._h - 1)

    def _plane(self, renders, name: str, data: bytes) -> None:
        plane = getattr(renders, name)
        plane.bits_per_pixel, plane.size.x, plane.size.y, plane.data = 8, self._w, self._h, data
