"""SC2LE minigame reference scores (mean; Vinyals et al. 2017, table of baselines; Zambaldi et al. 2019)."""

from __future__ import annotations

from envs.maps import MINIGAME_INFO

# agent -> scores in MINIGAME_INFO order, the SC2LE paper's: MoveToBeacon, CollectMineralShards,
# FindAndDefeatZerglings, DefeatRoaches, DefeatZerglingsAndBanelings, CollectMineralsAndGas, BuildMarines
# ("<1" recorded as 0.5)
_SCORES: dict[str, tuple[float, ...]] = {
    "Random": (1, 17, 4, 1, 23, 12, 0.5),
    "Random search": (25, 32, 21, 51, 55, 2318, 8),
    "DeepMind human": (26, 133, 46, 41, 729, 6880, 138),
    "GrandMaster": (28, 177, 61, 215, 727, 7566, 133),
    "Atari-net": (25, 96, 49, 101, 81, 3356, 0.5),
    "FullyConv": (26, 103, 45, 100, 62, 3978, 3),
    "FullyConv LSTM": (26, 104, 44, 98, 96, 3351, 6),
    "Relational (Zambaldi 2019)": (27, 196, 62, 303, 736, 5055, 123),
}
assert all(len(s) == len(MINIGAME_INFO) for s in _SCORES.values())

REFERENCE: dict[str, dict[str, float]] = {agent: dict(zip(MINIGAME_INFO, s)) for agent, s in _SCORES.items()}
"""agent -> minigame -> mean score."""


def minigame_of(env_id: str) -> str | None:
    """``perceiver_rl/SC2-MoveToBeacon-v0`` or ``perceiver_rl/Sim-MoveToBeacon-v0`` -> ``MoveToBeacon``."""
    for game in MINIGAME_INFO:
        if f"-{game}-" in env_id:
            return game
    return None


def reference_rows(game: str) -> list[tuple[str, float]]:
    return [(agent, scores[game]) for agent, scores in REFERENCE.items()]
