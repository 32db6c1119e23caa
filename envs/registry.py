"""One registry of env ids, registered with gymnasium and RLlib by :func:`register_all`.

``import envs`` registers the ids with gymnasium; only the RLlib registration needs the call.

``ENV_IDS`` maps every id to an :class:`EnvEntry` (entry point ``"module:callable"`` plus default
kwargs). Token envs carry a ``token_spec`` attribute (:class:`envs.spec.TokenSpec`); structured
(SC2-style) envs carry ``obs_spec`` / ``act_spec`` (:class:`envs.spec.ObservationSpec` /
:class:`envs.spec.ActionSpec`). Read them through the wrappers with :func:`contract_of`.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from envs.maps import MINIGAME_INFO, MINIGAMES, SIMULATOR_ONLY, Minigame
from envs.sim.catalog import RULES, SIM_MAPS

NAMESPACE = "perceiver_rl"


@dataclass(frozen=True)
class EnvEntry:
    """One registered env."""

    entry_point: str
    """``"module:callable"`` returning a ``gymnasium.Env``."""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Default keyword arguments of the entry point (overridable in ``gymnasium.make`` / RLlib ``env_config``)."""
    kind: str = "tokens"
    """``"tokens"`` (token observation) or ``"structured"`` (SC2-style Dict observation + structured action)."""
    needs_game: bool = False
    """True for ids that launch StarCraft II (they fail with a clear message when it is not installed)."""


def _tokens(base_id: str, preprocessing: str = "none") -> EnvEntry:
    return EnvEntry("envs.tokens.factory:make_token_env", {"base_id": base_id, "preprocessing": preprocessing})


def _sc2(map_name: str, backend: str) -> EnvEntry:
    return EnvEntry(
        "envs.sc2.env:make_sc2_env",
        {"map_name": map_name, "backend": backend},
        kind="structured",
        needs_game=backend == "game",
    )


ENV_IDS: dict[str, EnvEntry] = {
    **{f"{NAMESPACE}/SC2-{m}-v0": _sc2(m, "game") for m in MINIGAMES},
    **{f"{NAMESPACE}/Sim-{m}-v0": _sc2(m, "sim") for m in SIM_MAPS},
    f"{NAMESPACE}/Tokens-CartPole-v1": _tokens("CartPole-v1"),
    f"{NAMESPACE}/Tokens-Acrobot-v1": _tokens("Acrobot-v1"),
    f"{NAMESPACE}/Tokens-MiniGrid-DoorKey-5x5-v0": _tokens("MiniGrid-DoorKey-5x5-v0", "minigrid_image"),
    f"{NAMESPACE}/Tokens-MiniGrid-DoorKey-5x5-Dict-v0": _tokens("MiniGrid-DoorKey-5x5-v0", "minigrid_dict"),
}


def _resolve(entry_point: str):
    module, _, name = entry_point.partition(":")
    return getattr(importlib.import_module(module), name)


def make_entry(env_id: str, **kwargs) -> gym.Env:
    """Call ``env_id``'s entry point with its default kwargs updated by ``kwargs`` (no gymnasium wrappers)."""
    if env_id not in ENV_IDS:
        raise ValueError(f"env id {env_id!r} unknown; valid: {sorted(ENV_IDS)}")
    entry = ENV_IDS[env_id]
    return _resolve(entry.entry_point)(**{**entry.kwargs, **kwargs})


def _rllib_creator(env_id: str, env_config: Mapping[str, Any] | None = None) -> gym.Env:
    """RLlib env creator: ``env_config`` (an ``EnvContext``) becomes the entry point's kwargs."""
    return gym.make(env_id, **dict(env_config or {}))


def register_all(*, rllib: bool = True) -> list[str]:
    """Register every id of :data:`ENV_IDS` with gymnasium (once) and, if ``rllib``, with RLlib's tune registry.

    Idempotent. Returns the ids. The RLlib names are the same strings as the gymnasium ids.
    """
    for env_id, entry in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry.entry_point, kwargs=dict(entry.kwargs))
    if rllib:
        from ray.tune.registry import register_env

        for env_id in ENV_IDS:
            register_env(env_id, functools.partial(_rllib_creator, env_id))
    return list(ENV_IDS)


def register_map(rules: Any, *, seconds: int, action_functions: tuple[str, ...]) -> str:
    """Add a simulated minigame of an existing family (``rules``: a ``Rules`` or ``CombatRules``): its rules to
    :data:`envs.sim.catalog.RULES`, its time limit (game seconds) and exposed raw action set to
    :data:`envs.maps.SIMULATOR_ONLY`, its ``Sim-<name>-v0`` id to :data:`ENV_IDS` and gymnasium (docs/extending.md).
    Returns the id. ``ValueError`` if the name is taken."""
    if rules.name in RULES or rules.name in MINIGAME_INFO or rules.name in SIMULATOR_ONLY:
        raise ValueError(f"map {rules.name!r} exists already")
    SIMULATOR_ONLY[rules.name] = Minigame(rules.name, seconds, tuple(action_functions))
    RULES[rules.name] = rules
    env_id = f"{NAMESPACE}/Sim-{rules.name}-v0"
    ENV_IDS[env_id] = _sc2(rules.name, "sim")
    register_all(rllib=False)
    return env_id


def unregister_map(name: str) -> None:
    """Undo :func:`register_map` (tests); a built-in map cannot be removed."""
    if name not in SIMULATOR_ONLY:
        raise ValueError(f"map {name!r} was not added by register_map")
    env_id = f"{NAMESPACE}/Sim-{name}-v0"
    del SIMULATOR_ONLY[name], RULES[name], ENV_IDS[env_id]
    gym.registry.pop(env_id, None)


def contract_of(env: gym.Env) -> dict[str, Any]:
    """The contract objects of a (possibly wrapped) registered env.

    Token envs: ``{"token_spec": TokenSpec}``; structured envs: ``{"obs_spec": ObservationSpec, "act_spec": ActionSpec}``.
    """
    for names in (("token_spec",), ("obs_spec", "act_spec")):
        try:
            return {n: env.get_wrapper_attr(n) for n in names}
        except AttributeError:
            continue
    raise ValueError(f"env {env} has neither token_spec nor obs_spec/act_spec: not a perceiver_rl env")
