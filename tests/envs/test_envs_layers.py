"""The import arrows inside envs/ run one way: minigame facts and the pysc2 wrapper at the bottom, the simulator on
them, the adapter on the simulator (its backend), the registry on top; the simulator's map families never import
each other. Read from the source with ``ast``: every import, also those inside functions."""

from __future__ import annotations

from pathlib import Path

from support.imports import imported_modules, module_name

ROOT = Path(__file__).resolve().parents[2]
ENVS = ROOT / "envs"


def _group(module: str, depth: int) -> str:
    return ".".join(module.split(".")[:depth])


def _graph(files: list[Path], prefix: str, depth: int) -> dict[str, set[str]]:
    """Import edges between the groups of ``prefix``'s modules (their first ``depth`` dotted parts)."""
    edges: dict[str, set[str]] = {}
    for path in files:
        source = _group(module_name(path, ROOT), depth)
        for _, module in imported_modules(path, ROOT):
            if module.startswith(prefix + "."):
                target = _group(module, depth)
                if target != source:
                    edges.setdefault(source, set()).add(target)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle of ``edges`` (a path that comes back to its start), or ``[]``."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return []
        for nxt in sorted(edges.get(node, ())):
            found = visit(nxt, path + [node])
            if found:
                return found
        done.add(node)
        return []

    for start in sorted(edges):
        found = visit(start, [])
        if found:
            return found
    return []


def _offenders(folder: Path, forbidden: tuple[str, ...]) -> list[str]:
    files = [folder] if folder.suffix == ".py" else sorted(folder.rglob("*.py"))
    return [
        f"{path.relative_to(ROOT)}:{line} {module}"
        for path in files
        for line, module in imported_modules(path, ROOT)
        if module in forbidden or module.startswith(tuple(f + "." for f in forbidden))
    ]


def test_the_envs_packages_import_each_other_without_a_cycle():
    assert _cycle(_graph(sorted(ENVS.rglob("*.py")), "envs", 2)) == []
    assert _cycle(_graph(sorted((ENVS / "sim").rglob("*.py")), "envs.sim", 3)) == []


def test_the_simulator_never_imports_the_adapter_and_the_facts_neither():
    assert _offenders(ENVS / "sim", ("envs.sc2", "envs.registry")) == []
    for bottom in ("maps.py", "pysc2_compat.py", "spec.py"):
        assert _offenders(ENVS / bottom, ("envs.sim", "envs.sc2", "envs.registry")) == []


def test_the_map_families_never_import_each_other():
    families = sorted(p.name for p in (ENVS / "sim").iterdir() if (p / "rules.py").exists())
    assert families == ["combat", "economy", "pickups"]
    for family in families:
        others = tuple(f"envs.sim.{f}" for f in families if f != family)
        assert _offenders(ENVS / "sim" / family, others) == []


def test_the_families_have_the_same_files_for_the_same_concepts():
    shared = {"__init__.py", "world.py", "rules.py", "protocol.py", "direct.py"}
    for family in ("pickups", "combat", "economy"):
        assert shared <= {p.name for p in (ENVS / "sim" / family).glob("*.py")}, family


def test_the_checks_see_imports_inside_functions_and_cycles(tmp_path):
    source = tmp_path / "envs" / "sim" / "late.py"
    source.parent.mkdir(parents=True)
    source.write_text("def f():\n    from envs.sc2.env import SC2MinigameEnv\n    from ..sc2 import backends\n")
    assert imported_modules(source, tmp_path) == [
        (2, "envs.sc2.env"), (2, "envs.sc2.env.SC2MinigameEnv"), (3, "envs.sc2"), (3, "envs.sc2.backends"),
    ]  # fmt: skip
    assert _cycle({"envs.sim": {"envs.maps"}, "envs.maps": {"envs.sc2"}, "envs.sc2": {"envs.sim"}}) == [
        "envs.maps", "envs.sc2", "envs.sim", "envs.maps",
    ]  # fmt: skip
