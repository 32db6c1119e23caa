"""Scripted agents of the economy minigames (CollectMineralsAndGas, BuildMarines), on the observation contract (they
run on the real game too: they read unit types, grid positions, order counts and targets, build progress, minerals and
supply, and act through the minigames' own action sets).

:class:`MacroAgent`, a greedy macro script, one command per agent step, in this order of priority:

1. an idle SCV harvests the mineral field with the fewest SCVs sent to it (ties: the closest to the CommandCenter);
2. a SupplyDepot when the free supply is low (below 3, plus 2 per Barracks) and none is being built;
3. BuildMarines: Barracks (up to ``barracks``) once a SupplyDepot stands; CollectMineralsAndGas: a Refinery on each of
   the two geysers closest to the CommandCenter once ``gas_after`` SCVs exist, and 3 SCVs on each finished one (its
   builder harvests it on its own, two more are sent with ``Harvest_Gather`` on the geyser);
4. SCVs up to ``scvs`` (2 per mineral field plus 3 per Refinery, a CommandCenter queue of at most 1);
5. Marines at every Barracks with fewer than 2 in its queue.

Build sites: the grid cells nearest to a point 6 cells from the CommandCenter on the side away from its closest
mineral field whose footprint (the game's, by unit type, plus a margin of half a cell) clears every structure and
resource seen; a site a command did not take (the structure did not appear) is not tried again.
"""

from __future__ import annotations

import numpy as np

from envs.sc2.convert import ENTITY_FEATURES, SCALARS, UNIT_TYPES
from envs.sc2.scripted_base import ScriptedAgent

_F = {name: i for i, name in enumerate(ENTITY_FEATURES)}
_TYPE_COLUMNS = [_F[f"type_{t}"] for t in UNIT_TYPES] + [_F["type_other"]]
_TYPE_IDS = np.array([*UNIT_TYPES, -1])
SCV, CC, DEPOT, REFINERY, BARRACKS, MARINE, MINERALS, GEYSER = 45, 18, 19, 20, 21, 48, 341, 342
FOOTPRINT = {CC: 5, DEPOT: 2, REFINERY: 3, BARRACKS: 3, MINERALS: 2, GEYSER: 3}
"""The game's footprint side of each structure / resource type (a mineral field is 2 x 1: taken as 2 x 2)."""
_S = {name: i for i, name in enumerate(SCALARS)}
_PATIENCE = 40
"""Agent steps a build command may take to show its structure before the agent gives the site up."""


class MacroAgent(ScriptedAgent):
    """The greedy macro script of the module docstring."""

    def __init__(self, act_spec, *, barracks: int = 5, gas_after: int = 16, scvs: int | None = None,
                 unit_targeting: bool = False):  # fmt: skip
        names = [t.name for t in act_spec.action_types]
        self._fn = {name: names.index(name) for name in names}
        for needed in ("Harvest_Gather_unit", "Train_SCV_quick", "Build_SupplyDepot_pt"):
            if needed not in self._fn:
                raise ValueError(f"{type(self).__name__} needs the action type {needed}; the env has {names}")
        self._barracks, self._gas_after, self._scvs = barracks, gas_after, scvs
        super().__init__(act_spec, unit_targeting=unit_targeting)

    def reset(self) -> None:
        super().reset()
        self._pending: dict[int, tuple[int, int, int]] = {}
        """Structure type -> (step the build was ordered, the count of that type then, site cell)."""
        self._failed: set[int] = set()
        self._step = 0

    # ------------------------------------------------------------------------------------------ reading
    def _read(self, obs) -> dict:
        ent = obs["entities"]
        kind = np.where(obs["entity_mask"] > 0, _TYPE_IDS[ent[:, _TYPE_COLUMNS].argmax(axis=1)], 0)
        pos = ent[:, [_F["x"], _F["y"]]] * np.array([self._w, self._h])
        target = np.where(ent[:, _F["order_target_known"]][:, None] > 0,
                          np.round(ent[:, [_F["order_target_x"], _F["order_target_y"]]] * self._w), -1)  # fmt: skip
        own = obs["selectable_mask"] > 0
        s = obs["scalars"]
        return {
            "kind": kind, "own": own, "pos": pos, "target": target,
            "orders": np.round(ent[:, _F["order_length"]] * 4).astype(int),
            "done": np.round(ent[:, _F["build_progress"]] * 100) >= 100,
            "minerals": s[_S["minerals"]] * 1000, "food": s[_S["food_used"]] * 200, "cap": s[_S["food_cap"]] * 200,
        }  # fmt: skip

    @staticmethod
    def _of(u: dict, kind: int, own: bool = True) -> np.ndarray:
        return np.flatnonzero((u["kind"] == kind) & (u["own"] == own))

    def _sent_to(self, u: dict, slot: int) -> np.ndarray:
        """The SCVs whose order goes to the cell of ``slot``."""
        scvs = self._of(u, SCV)
        return scvs[np.all(u["target"][scvs] == u["pos"][slot], axis=1)]

    # ------------------------------------------------------------------------------------------ acting
    def _command(self, name: str, units, target: int = 0, location: int = 0) -> dict:
        action = self._action(self._fn[name])
        chosen = list(units)[: self.spec.max_selected]
        action["selected_units"][: len(chosen)] = chosen
        action["target_unit"], action["location"] = int(target), int(location)
        return action

    def act(self, obs) -> dict:
        self._step += 1
        u = self._read(obs)
        self._legal = obs["location_mask"]
        centres = self._of(u, CC)
        if len(centres) == 0:
            return self.noop()
        cc = u["pos"][centres[0]]
        fields = self._of(u, MINERALS, own=False)
        scvs = self._of(u, SCV)
        for kind, (step, count, cell) in list(self._pending.items()):
            if len(self._of(u, kind)) > count:
                del self._pending[kind]
            elif self._step - step > _PATIENCE:
                self._failed.add(cell)
                del self._pending[kind]
        for step in (self._idle, self._supply, self._production_buildings, self._gas, self._train):
            action = step(u, cc, fields, scvs)
            if action is not None:
                return action
        return self.noop()

    def _idle(self, u, cc, fields, scvs):
        idle = scvs[u["orders"][scvs] == 0]
        if len(idle) == 0 or len(fields) == 0:
            return None
        load = np.array([len(self._sent_to(u, f)) for f in fields])
        dist = np.linalg.norm(u["pos"][fields] - cc, axis=1)
        best = fields[np.lexsort((dist, load))[0]]
        return self._command("Harvest_Gather_unit", idle[:1], target=best)

    def _supply(self, u, cc, fields, scvs):
        depots = self._of(u, DEPOT)
        building = DEPOT in self._pending or not u["done"][depots].all()
        low = u["cap"] - u["food"] < 3 + 2 * len(self._of(u, BARRACKS))
        if u["cap"] >= 200 or building or not low or u["minerals"] < 100:
            return None
        return self._build(u, cc, fields, scvs, DEPOT, "Build_SupplyDepot_pt")

    def _production_buildings(self, u, cc, fields, scvs):
        if "Build_Barracks_pt" not in self._fn or BARRACKS in self._pending:
            return None
        depots = self._of(u, DEPOT)
        if not u["done"][depots].any() or len(self._of(u, BARRACKS)) >= self._barracks or u["minerals"] < 150:
            return None
        if len(scvs) < 16 and self._fn.get("Train_SCV_quick") is not None and u["minerals"] < 200:
            return None  # the economy first
        return self._build(u, cc, fields, scvs, BARRACKS, "Build_Barracks_pt")

    def _gas(self, u, cc, fields, scvs):
        if "Build_Refinery_pt" not in self._fn:
            return None
        refineries = self._of(u, REFINERY)
        geysers = self._of(u, GEYSER, own=False)
        if len(geysers) == 0:
            return None
        near = geysers[np.argsort(np.linalg.norm(u["pos"][geysers] - cc, axis=1), kind="stable")[:2]]
        covered = [g for g in near if any(np.all(u["pos"][r] == u["pos"][g]) for r in refineries)]
        free = [g for g in near if g not in covered]
        if free and len(scvs) >= self._gas_after and REFINERY not in self._pending and u["minerals"] >= 75:
            builder = self._builder(u, scvs, u["pos"][free[0]])
            if builder is not None:
                self._pending[REFINERY] = (self._step, len(refineries), -1)
                return self._command("Build_Refinery_pt", [builder], target=free[0])
        for g in covered:
            r = next(r for r in refineries if np.all(u["pos"][r] == u["pos"][g]))
            if u["done"][r] and len(self._sent_to(u, g)) < 2:  # + its builder
                builder = self._builder(u, scvs, u["pos"][g])
                if builder is not None:
                    return self._command("Harvest_Gather_unit", [builder], target=g)
        return None

    def _train(self, u, cc, fields, scvs):
        wanted = self._scvs if self._scvs is not None else 2 * len(fields) + 3 * len(self._of(u, REFINERY))
        free_supply = u["cap"] - u["food"]
        centres = self._of(u, CC)
        if len(scvs) + u["orders"][centres].sum() < wanted and free_supply >= 1 and u["minerals"] >= 50:
            ready = centres[u["orders"][centres] < 1]
            if len(ready):
                return self._command("Train_SCV_quick", ready[:1])
        if "Train_Marine_quick" in self._fn and free_supply >= 1 and u["minerals"] >= 50:
            barracks = self._of(u, BARRACKS)
            ready = barracks[u["done"][barracks] & (u["orders"][barracks] < 2)]
            if len(ready):
                return self._command("Train_Marine_quick", ready[: max(1, int(min(free_supply, u["minerals"] // 50)))])
        return None

    # ------------------------------------------------------------------------------------------ building
    def _builder(self, u, scvs, site) -> int | None:
        """The closest SCV that has an order and was sent to a mineral field or by no command of this env: a mineral
        harvester, as far as the agent knows (not one building, not one on gas)."""
        fields = {tuple(u["pos"][f]) for f in self._of(u, MINERALS, own=False)} | {(-1.0, -1.0)}
        candidates = [s for s in scvs if u["orders"][s] > 0 and tuple(u["target"][s]) in fields]
        if not candidates:
            return None
        d = np.linalg.norm(u["pos"][candidates] - site, axis=1)
        return int(candidates[int(np.argmin(d))])

    def _build(self, u, cc, fields, scvs, kind: int, function: str):
        cell = self._site(u, cc, fields, kind)
        if cell is None:
            return None
        x, y = cell % self._w, cell // self._w
        builder = self._builder(u, scvs, np.array([x, y], float))
        if builder is None:
            return None
        self._pending[kind] = (self._step, len(self._of(u, kind)), cell)
        return self._command(function, [builder], location=cell)

    def _site(self, u, cc, fields, kind: int) -> int | None:
        """The free location closest to the build anchor (see the module docstring), or None."""
        away = cc - u["pos"][fields[np.argmin(np.linalg.norm(u["pos"][fields] - cc, axis=1))]] if len(fields) else 0
        anchor = cc + 6 * away / max(float(np.linalg.norm(away)), 1e-9)
        blocks = [(u["pos"][i] + 0.5, FOOTPRINT[int(k)] / 2) for i, k in enumerate(u["kind"]) if int(k) in FOOTPRINT]
        half = FOOTPRINT[kind] / 2 + 0.5
        legal = np.argwhere(self._legal > 0)
        (y0, x0), (y1, x1) = legal.min(axis=0), legal.max(axis=0)
        ys, xs = np.mgrid[y0 + 2 : y1 - 1, x0 + 2 : x1 - 1]
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        for x, y in cells[np.argsort(np.linalg.norm(cells - anchor, axis=1), kind="stable")]:
            cell = int(y * self._w + x)
            centre = np.array([x + 0.5, y + 0.5])
            if cell not in self._failed and all(np.abs(centre - c).max() >= half + h for c, h in blocks):
                return cell
        return None


ECONOMY_AGENTS: dict[str, list[type[ScriptedAgent]]] = {
    "CollectMineralsAndGas": [MacroAgent],
    "BuildMarines": [MacroAgent],
}
"""Scripted baselines per economy map; the first is the map's entry in ``envs.sc2.scripted.SCRIPTED_AGENTS``."""
