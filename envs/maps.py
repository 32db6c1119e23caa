"""The map names the registry offers, as plain tuples: listing the env ids imports neither pysc2 nor the simulator.

Tests pin them to their sources: ``MINIGAMES`` equals pysc2's own minigame list
(``envs.sc2.pysc2_compat.MINIGAMES``), ``SIM_MAPS`` the maps the simulator has rules for
(``envs.sim.rules.RULES``).
"""

MINIGAMES: tuple[str, ...] = (
    "BuildMarines",
    "CollectMineralShards",
    "CollectMineralsAndGas",
    "DefeatRoaches",
    "DefeatZerglingsAndBanelings",
    "FindAndDefeatZerglings",
    "MoveToBeacon",
)
"""The seven SC2LE minigames, by map name, sorted."""

SIM_MAPS: tuple[str, ...] = ("MoveToBeacon", "CollectMineralShards")
"""The minigames the pysc2-protocol simulator implements."""
