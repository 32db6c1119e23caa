"""docs/custom_policy.md: its Python blocks run as written, the swap itself is at most 5 lines, and its YAML
``model.policy`` is the Python config."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import yaml

from agents.experiment.loader import config_from_dict
from agents.nets.encoders import ENTITY_ENCODERS
from agents.nets.heads import HEAD_TORSOS

DOC = Path(__file__).resolve().parents[2] / "docs" / "custom_policy.md"


def test_custom_policy_doc_runs_and_the_swap_is_short(monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    swap = [b for b in blocks if 'PolicyConfig(encoder="deepsets"' in b and "register" not in b]
    assert swap, "the swap block is missing"
    assert len([line for line in swap[0].splitlines() if line.strip()]) <= 5
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
        assert namespace["out"].dist_inputs.shape[0] == 2
        (experiment,) = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
        data = yaml.safe_load(experiment)
        for name in data["plugins"]:  # the blocks above are the plugin module that the YAML names
            monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
        assert config_from_dict(data).model.policy == namespace["config"]
    finally:
        ENTITY_ENCODERS.pop("deepsets", None)
        HEAD_TORSOS.pop("linear", None)
