"""pysc2 (through envs.pysc2_compat) imports beside ray on Python 3.11, in either order."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = {
    "pysc2_first": "import envs.pysc2_compat as c; import ray; from ray.rllib.algorithms.ppo import PPOConfig",
    "ray_first": "import ray; from ray.rllib.algorithms.ppo import PPOConfig; import envs.pysc2_compat as c",
}
CHECK = "; assert c.PYSC2_MODULE == 'pysc2_evolved'; assert len(c.MINIGAMES) == 7; print(c.RAW_FUNCTIONS.Move_pt.id)"


@pytest.mark.parametrize("order", sorted(CODE))
def test_pysc2_imports_beside_ray(order):
    out = subprocess.run([sys.executable, "-c", CODE[order] + CHECK], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "13"
