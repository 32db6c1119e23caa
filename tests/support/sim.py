"""Helpers of the simulator tests: both observation paths compared, random legal play, pysc2's test env."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np

from envs.pysc2_compat import RAW_FUNCTIONS
from envs.sc2.env import SC2MinigameEnv
from envs.sc2.scripted import SCRIPTED_AGENTS, run_episode
from envs.sim.direct_base import FIELDS

EXECUTABLE = [
    "no_op", "Move_pt", "Move_unit", "Smart_pt", "Smart_unit", "Attack_pt", "Attack_unit", "Stop_quick",
    "HoldPosition_quick",
]  # fmt: skip
"""Every RAW function the simulator executes (``envs.sim.abilities.can_execute``)."""


def assert_fields_equal(protocol, direct, where: str = "") -> None:
    """The direct path's fields equal the protocol path's: same dtype, shape and values."""
    assert set(direct) == set(FIELDS), where
    for key in FIELDS:
        theirs, ours = np.asarray(protocol[key]), np.asarray(direct[key])
        assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape), (where, key)
        if not np.array_equal(ours, theirs):
            diff = np.argwhere(ours != theirs)[:5].tolist()
            raise AssertionError(f"{where}: field {key!r} differs at {diff}")


def coordinate(rng: np.random.Generator, low: float, high: float) -> float:
    """A coordinate in ``[low, high]``, often on or next to a grid line (float32 rounding and floor edges)."""
    kind = rng.integers(4)
    if kind == 0:
        return float(rng.uniform(low, high))
    k = float(rng.integers(math.ceil(low), math.floor(high) + 1))
    if kind == 1:
        return k
    offset = float(rng.choice([1e-9, 1e-7, 1e-6, 1e-4]))  # within / beyond float32's rounding at these magnitudes
    return min(max(k - offset if kind == 2 else k + offset, low), high)


def random_action(env: SC2MinigameEnv, obs: dict, rng: np.random.Generator, agent) -> dict:
    """Half the time the scripted agent's action (so that pickups are taken and respawn), otherwise a random
    legal one: any executable function, random selection, unit target, location and ``queued``."""
    if rng.random() < 0.5:
        action = agent.act(obs)
        action["queued"] = int(rng.integers(2))
        return action
    spec = env.act_spec
    k = int(rng.choice(np.flatnonzero(obs["action_type_mask"])))
    sel = np.full(spec.max_selected, spec.max_entities, np.int64)
    units = rng.permutation(np.flatnonzero(obs["selectable_mask"]))[: int(rng.integers(1, spec.max_selected + 1))]
    sel[: len(units)] = units
    targets = np.flatnonzero(obs["targetable_mask"])
    target = int(rng.choice(targets)) if len(targets) else 0
    cells = np.flatnonzero(obs["location_mask"].reshape(-1))
    return {
        "action_type": k, "queued": int(rng.integers(2)), "selected_units": sel, "target_unit": target,
        "location": int(rng.choice(cells)),
    }  # fmt: skip


def assert_contract_equal(obs_a: dict, obs_b: dict, info_a: dict, info_b: dict) -> None:
    assert obs_a.keys() == obs_b.keys()
    for key in obs_a:
        assert obs_a[key].dtype == obs_b[key].dtype and np.array_equal(obs_a[key], obs_b[key]), key
    assert info_a.keys() == info_b.keys()
    for key in info_a:
        assert np.array_equal(info_a[key], info_b[key]), key


def seeded_episodes_on_both_paths(map_name: str, seeds: range, score_seeds: tuple[int, ...]) -> list[float]:
    """Through gymnasium (the registered id, whose default is the direct path): contract observations, rewards,
    flags and infos of whole seeded episodes under the map's scripted agent equal the protocol path's, and so do
    its scores on ``score_seeds``. Returns those scores."""
    envs_ = {
        path: gym.make(f"perceiver_rl/Sim-{map_name}-v0", sim_observations=path) for path in ("protocol", "direct")
    }
    assert gym.make(f"perceiver_rl/Sim-{map_name}-v0").unwrapped._env.observations == "direct"
    agents = {path: SCRIPTED_AGENTS[map_name](env.unwrapped.act_spec) for path, env in envs_.items()}
    for seed in seeds:
        (obs_p, info_p), (obs_d, info_d) = (envs_[p].reset(seed=seed) for p in ("protocol", "direct"))
        agents["protocol"].reset(), agents["direct"].reset()
        while True:
            assert_contract_equal(obs_p, obs_d, info_p, info_d)
            action = agents["direct"].act(obs_d)
            assert same_action(agents["protocol"].act(obs_p), action)
            obs_p, r_p, term_p, trunc_p, info_p = envs_["protocol"].step(action)
            obs_d, r_d, term_d, trunc_d, info_d = envs_["direct"].step(action)
            assert (r_p, term_p, trunc_p) == (r_d, term_d, trunc_d)
            if term_d:
                assert_contract_equal(obs_p, obs_d, info_p, info_d)
                break
    scores = {path: [run_episode(env, agents[path], seed=s) for s in score_seeds] for path, env in envs_.items()}
    assert scores["protocol"] == scores["direct"]
    return scores["direct"]


def same_action(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def assert_same_protocol_as_pysc2s_test_env(map_name: str) -> tuple[SC2MinigameEnv, SC2MinigameEnv]:
    """The simulator's protocol path and pysc2's ``SC2TestEnv`` on ``map_name``: the same observation keys, dtypes and
    trailing shapes after a no_op, and the same observation spec. Returns ``(sim, mock)`` for further checks."""
    sim = SC2MinigameEnv(map_name, backend="sim", sim_observations="protocol")
    mock = SC2MinigameEnv(map_name, backend="test")
    sim.reset(seed=0)
    mock.reset()
    ours, theirs = sim._env.step([RAW_FUNCTIONS.no_op()])[0], mock._env.step([RAW_FUNCTIONS.no_op()])[0]
    assert set(ours.observation) == set(theirs.observation)
    for key, value in theirs.observation.items():
        if isinstance(value, np.ndarray):
            mine = np.asarray(ours.observation[key])
            assert mine.dtype == value.dtype and mine.shape[1:] == value.shape[1:], key
    assert sim._env.observation_spec() == mock._env.observation_spec()
    return sim, mock
