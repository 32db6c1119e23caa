"""The layers of ``agents`` import one way: app -> rllib -> experiment / nets, and only rllib and app import Ray.
Every import statement of every module is read with ``ast`` (relative ones resolved, those inside functions too),
so a lazy import counts. (``tests/envs/test_envs_imports.py`` imports the nets and checks that no Ray is loaded.)"""

from pathlib import Path

import pytest

from support.imports import imported_modules

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "agents.nets": ("agents.app", "agents.rllib", "agents.experiment", "ray"),
    "agents.experiment": ("agents.app", "agents.rllib", "ray"),
    "agents.rllib": ("agents.app",),
}
"""Layer -> the packages none of its modules may import."""


def violations(layer: str, root: Path = ROOT) -> list[str]:
    """``file:line imports module``, once per import statement of a module of ``layer`` that imports a package
    ``FORBIDDEN`` names."""
    found: dict[str, str] = {}
    for path in sorted((root / layer.replace(".", "/")).rglob("*.py")):
        for line, module in imported_modules(path, root):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN[layer]):
                found.setdefault(f"{path.relative_to(root)}:{line}", module)
    return [f"{where} imports {module}" for where, module in found.items()]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_a_layer_above_it(layer):
    assert violations(layer) == []


def test_the_check_sees_relative_and_lazy_imports(tmp_path):
    """A lower layer's module importing a higher one lazily, relatively, is caught (the check can fail)."""
    package = tmp_path / "agents" / "experiment"
    package.mkdir(parents=True)
    (package / "bad.py").write_text(
        "from . import loader\nfrom .. import nets, rllib\n\n\ndef f():\n    from ..app.cli import main\n"
    )
    assert violations("agents.experiment", tmp_path) == [
        "agents/experiment/bad.py:2 imports agents.rllib",
        "agents/experiment/bad.py:6 imports agents.app.cli",
    ]
