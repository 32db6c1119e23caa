"""envs/ is the producer side: it never imports agents/, and a Gym token env loads no pysc2, Ray or torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("agents", "pysc2", "ray", "torch", "perceiver_rl")
"""Module prefixes ``import envs`` / ``import envs.tokens`` must not load (pysc2's module is ``pysc2_evolved``)."""


@pytest.mark.parametrize("module", ["envs", "envs.tokens"])
def test_import_loads_no_agents_pysc2_ray_or_torch(module):
    code = f"import sys, {module}; print(sorted({{m for m in sys.modules if m.startswith({HEAVY!r})}}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_envs_source_never_imports_agents():
    offenders = []
    for path in sorted((ROOT / "envs").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] == "agents"]
    assert not offenders, offenders


NETS = ROOT / "agents" / "nets"
NETS_MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for path in NETS.rglob("*.py")
)


def test_importing_the_nets_loads_no_ray():
    """agents/nets/ is the pure-PyTorch layer: importing all of it (a policy built and run) loads no Ray module."""
    code = (
        f"import importlib, sys\n"
        f"for m in {NETS_MODULES!r}: importlib.import_module(m)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('ray', 'agents')}),"
        " sorted(m for m in sys.modules if m.startswith(('agents.rllib', 'agents.app'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['agents'] []"
