"""The SC2 adapter on pysc2's SC2TestEnv (real feature code, no game) and its error paths."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.maps import minigame
from envs.pysc2_compat import RAW_FUNCTIONS, FeatureUnit, StepType, TimeStep
from envs.sc2.backends import SC2NotInstalledError
from envs.sc2.convert import ENTITY_FEATURES, ContractConfig, TimestepConverter
from envs.sc2.env import SC2MinigameEnv
from envs.sim.catalog import SIM_MAPS
from envs.sim.env import SimSC2Env


def _action(env, action_type=0, selected=(), target=0, location=0, queued=0):
    spec = env.act_spec
    sel = np.full(spec.max_selected, spec.max_entities, np.int64)
    sel[: len(selected)] = selected
    return {
        "action_type": action_type,
        "queued": queued,
        "selected_units": sel,
        "target_unit": target,
        "location": location,
    }


def test_test_env_observation_follows_the_contract():
    env = SC2MinigameEnv("DefeatRoaches", backend="test")
    obs, info = env.reset(seed=0)
    env.obs_spec.validate(obs)
    assert env.observation_space.contains(obs)
    # SC2TestEnv has one neutral LabBot at world (10, 10) on a 256 x 256 map -> minimap pixel (2, 61) of 64
    assert obs["entity_mask"].tolist() == [1] + [0] * 31
    ent = dict(zip(ENTITY_FEATURES, obs["entities"][0]))
    assert ent["alliance_neutral"] == 1 and ent["type_other"] == 1
    assert (ent["x"], ent["y"]) == (2 / 64, 61 / 64)
    assert obs["selectable_mask"].sum() == 0 and obs["targetable_mask"][0] == 1
    # no own unit: only no_op is legal (Move_pt, Attack_pt, Attack_unit need a selectable unit)
    assert obs["action_type_mask"].tolist() == [1, 0, 0, 0]
    assert info["score_cumulative"][0] == 300  # dummy_observation.Builder's score
    for _ in range(9):
        obs, reward, terminated, truncated, info = env.step(_action(env))
        assert not terminated and info["illegal_action"] == ""
    *_, terminated, truncated, info = env.step(_action(env))
    assert terminated and not truncated and info["episode_length"] == 10


def test_illegal_actions_become_counted_noops():
    env = SC2MinigameEnv("DefeatRoaches", backend="test")
    env.reset()
    _, _, _, _, info = env.step(_action(env, action_type=1, selected=[0], location=5))
    assert "not available" in info["illegal_action"] and info["illegal_actions"] == 1


def _sim_converter_and_timestep(max_entities=32):
    sim = SC2MinigameEnv("CollectMineralShards", backend="sim", max_entities=max_entities)
    sim.reset(seed=1)
    return sim, sim._env.step([RAW_FUNCTIONS.no_op()])[0]


def test_action_becomes_a_raw_function_call_with_unit_rows_and_world_point():
    env, ts = _sim_converter_and_timestep()
    obs, _ = env.converter.observation(ts)
    marines = np.flatnonzero(obs["selectable_mask"])
    assert marines.tolist() == [0, 1]
    call, illegal = env.converter.action(
        _action(env, action_type=1, selected=[1, 0, 1], location=30 * 64 + 25, queued=1)
    )
    assert illegal == ""
    assert call.function == RAW_FUNCTIONS.Move_pt.id
    # queued, unit rows of pysc2's raw_units (repeats once), minimap (x, y)
    assert [list(map(int, a)) for a in call.arguments] == [[1], [1, 0], [25, 30]]
    raw = ts.observation["raw_units"]
    assert raw[1, FeatureUnit.alliance] == 1  # the rows are the marines'


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"action_type": 1, "selected": [], "location": 0}, "empty selected_units"),
        ({"action_type": 1, "selected": [5], "location": 30 * 64 + 30}, "non-selectable"),
        ({"action_type": 1, "selected": [0], "location": 0}, "not a legal location"),
    ],
)
def test_illegal_arguments_become_noops(kwargs, reason):
    env, ts = _sim_converter_and_timestep()
    env.converter.observation(ts)
    call, illegal = env.converter.action(_action(env, **kwargs))
    assert reason in illegal and call.function == RAW_FUNCTIONS.no_op.id


@pytest.mark.parametrize(
    "field, value",
    [
        ("action_type", 99),
        ("location", 64 * 64),
        ("target_unit", -1),
        ("queued", 1.5),
        ("selected_units", [33, 0, 0, 0]),
    ],
)
def test_out_of_range_actions_raise_naming_the_field(field, value):
    env, ts = _sim_converter_and_timestep()
    env.converter.observation(ts)
    action = _action(env)
    action[field] = np.asarray(value)
    with pytest.raises(ValueError, match=f"'{field}'"):
        env.converter.action(action)


def test_truncation_keeps_own_units_first_and_counts_the_rest():
    env, ts = _sim_converter_and_timestep()
    conv = TimestepConverter(minigame("CollectMineralShards"), ContractConfig(max_entities=5))
    obs, info = conv.observation(ts)
    assert info["entities_dropped"] == 22 - 5
    assert obs["selectable_mask"].tolist() == [1, 1, 0, 0, 0] and obs["entity_mask"].sum() == 5


def test_nan_in_an_observation_names_the_field():
    env, ts = _sim_converter_and_timestep()
    player = np.asarray(ts.observation["player"], np.float64).copy()
    player[1] = np.nan
    bad = TimeStep(StepType.MID, 0.0, 1.0, {**ts.observation, "player": player})
    with pytest.raises(ValueError, match="'player'.*NaN"):
        env.converter.observation(bad)


GAME_IDS = [i for i, e in envs.ENV_IDS.items() if e.needs_game]


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_game_not_installed_names_sc2path_and_the_simulator(env_id, monkeypatch, tmp_path):
    import gymnasium as gym

    monkeypatch.setenv("SC2PATH", str(tmp_path))
    map_name = env_id.split("SC2-")[1][: -len("-v0")]
    hint = f"perceiver_rl/Sim-{map_name}-v0" if map_name in SIM_MAPS else "simulator covers only"
    with pytest.raises(SC2NotInstalledError, match=rf"SC2PATH={tmp_path}.*{hint}"):
        gym.make(env_id)


def test_unknown_map_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown SC2 minigame 'Nope'.*MoveToBeacon"):
        SC2MinigameEnv("Nope", backend="test")
    aif = SC2MinigameEnv("MoveToBeacon", backend="sim")._env._aif  # every SC2LE map has a simulator: ask SimSC2Env
    with pytest.raises(ValueError, match="no simulator.*CollectMineralShards"):
        SimSC2Env(map_name="Nope", agent_interface_format=aif)


def test_game_without_the_map_file_says_where_to_copy_it(monkeypatch, tmp_path):
    (tmp_path / "Versions" / "Base75689").mkdir(parents=True)  # looks like an install, without Maps/
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    with pytest.raises(
        SC2NotInstalledError, match=r"mini_games/MoveToBeacon.SC2Map.*copy .*pysc2_evolved/maps/mini_games"
    ):
        SC2MinigameEnv("MoveToBeacon", backend="game")
