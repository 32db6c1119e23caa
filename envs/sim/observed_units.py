"""The units of one observation as arrays: what the feature-layer interface draws, hit-tests and selects.

Read from the raw units of a built ``sc_pb.ResponseObservation`` (every family's protocol builder writes them: the
player's units, the pickups, the enemy units the player sees), so the screen, the selection and the raw units can
never disagree, and the interface needs no family's world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.pysc2_compat import raw_pb2

SELF = int(raw_pb2.Self)
"""``Unit.alliance`` of the player's own units (pysc2's ``PlayerRelative.SELF``: the same numbers, 1 / 3 / 4)."""


@dataclass(frozen=True)
class ObservedUnits:
    """``K`` units, in the raw units' order: tags, world positions ``(K, 2)``, footprint radii, alliance (1 self,
    3 neutral, 4 enemy), owner (player id; 16 neutral), unit type, health and its maximum, all ``(K,)``."""

    tags: np.ndarray
    pos: np.ndarray
    radius: np.ndarray
    alliance: np.ndarray
    owner: np.ndarray
    unit_type: np.ndarray
    health: np.ndarray
    health_max: np.ndarray

    @classmethod
    def from_raw(cls, units) -> ObservedUnits:
        """From a repeated ``raw_pb2.Unit`` field (``observation.raw_data.units``)."""
        rows = [
            (u.tag, u.pos.x, u.pos.y, u.radius, u.alliance, u.owner, u.unit_type, u.health, u.health_max) for u in units
        ]
        cols = list(zip(*rows)) if rows else [()] * 9
        tags, x, y, radius, alliance, owner, unit_type, health, health_max = cols
        return cls(
            tags=np.array(tags, np.int64), pos=np.stack([np.array(x, np.float64), np.array(y, np.float64)], axis=-1),
            radius=np.array(radius, np.float64), alliance=np.array(alliance, np.int64),
            owner=np.array(owner, np.int64), unit_type=np.array(unit_type, np.int64),
            health=np.array(health, np.float64), health_max=np.array(health_max, np.float64),
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.tags)

    @property
    def own(self) -> np.ndarray:
        """``(K,)`` bool: the player's units (the only ones it can command)."""
        return self.alliance == SELF

    def index(self, tags) -> np.ndarray:
        """Rows of ``tags`` that are in this observation, in ``tags``' order (absent tags are skipped)."""
        row = {t: i for i, t in enumerate(self.tags.tolist())}
        return np.array([row[t] for t in tags if t in row], np.int64)
