"""One AlphaStar-style policy family with a swappable entity encoder, the RLlib layer and the ``perceiver-rl`` CLI.

One folder per layer, imports pointing down only (``tests/agents/test_layers.py``): ``agents.app`` (the command line,
training, evaluation) -> ``agents.rllib`` (the RLModule, distributions, Algorithm configs and the RLlib-facing API)
-> ``agents.experiment`` (the experiment config, checkpoints, run directories; no Ray) and ``agents.nets`` (the
networks, pure PyTorch, never imports Ray).

:class:`AlphaStarPolicy` (structured SC2 actions) and :class:`SpacePolicy` (a token env's entity list and its
Gym action space) share the torso (``agents.nets.torso``) and the config (:class:`PolicyConfig`). Pure-torch parts are
importable without Ray; the one RLModule is ``agents.rllib.alphastar_module.AlphaStarRLModule``.

The names below are imported on first use (PEP 562), so that ``import agents.<anything>`` loads no torch: the
command line answers ``--help`` and ``list`` without it.
"""

from __future__ import annotations

import importlib
from typing import Any

_SOURCES = {
    "ActionSpec": "envs.spec",
    "ActionType": "envs.spec",
    "AlphaStarPolicy": "agents.nets.policy",
    "ObservationSpec": "envs.spec",
    "PolicyConfig": "agents.nets.policy",
    "PolicyOutput": "agents.nets.policy",
    "SpacePolicy": "agents.nets.space_policy",
    "StructuredActionDistribution": "agents.nets.distribution",
    "TokenSpec": "envs.spec",
}
"""Public name -> the module that defines it."""


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOURCES})


__all__ = sorted(_SOURCES)
