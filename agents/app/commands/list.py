"""``perceiver-rl list``: the env ids, modules, entity encoders, heads and configs there are. Answers without
importing torch, Ray or pysc2: the built-in names are declared here, and a test checks them against the
registries (``MODULES``, ``ENTITY_ENCODERS``, ``HEAD_TORSOS``), so a newly registered built-in must be added here."""

from __future__ import annotations

import argparse

from .common import CONFIGS_DIR

BUILT_IN = {
    "modules": ("alphastar", "default"),  # agents.rllib.build.MODULES
    "entity encoders": ("perceiver", "transformer"),  # agents.nets.encoders.ENTITY_ENCODERS
    "heads": ("mlp", "queries"),  # agents.nets.heads.HEAD_TORSOS
}
"""The registries' built-in entries, in registration order."""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser("list", help="environments, encoders and configs")


def run(args: argparse.Namespace) -> int:
    import envs  # the ids only: no env module, pysc2 or Ray is imported

    print("environments:")
    for env_id in sorted(envs.ENV_IDS):
        print(f"  {env_id}")
    for kind, names in BUILT_IN.items():
        print(f"{kind}:  " + ", ".join(names))
    print("configs:")
    for f in sorted(CONFIGS_DIR.glob("*.yaml")):
        print(f"  configs/{f.name}")
    return 0
