"""The env registry: gymnasium + RLlib registration, env checker on every registered id."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import envs

LOCAL_IDS = [i for i, e in envs.ENV_IDS.items() if not e.needs_game]


def test_register_all_is_idempotent():
    ids = envs.register_all(rllib=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # re-registering would warn "Overriding environment"
        assert envs.register_all(rllib=False) == ids
    assert set(ids) <= set(gym.registry)


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
@pytest.mark.filterwarnings("ignore:.*Box observation space m..imum value is")
@pytest.mark.parametrize("env_id", LOCAL_IDS)
def test_env_checker_passes(env_id):
    env = gym.make(env_id)
    check_env(env, skip_render_check=True)
    contract = envs.contract_of(env)
    obs, _ = env.reset(seed=0)
    if envs.ENV_IDS[env_id].kind == "tokens":
        assert env.observation_space == contract["token_spec"].space()
    else:
        assert env.observation_space == contract["obs_spec"].space()
        assert env.action_space == contract["act_spec"].space()
        contract["obs_spec"].validate(obs)
    env.close()


def test_rllib_names_create_the_envs():
    from ray.tune.registry import ENV_CREATOR, _global_registry

    envs.register_all()
    env_id = "perceiver_rl/Tokens-CartPole-v1"
    env = _global_registry.get(ENV_CREATOR, env_id)({"num_bands": 2})
    assert envs.contract_of(env)["token_spec"].token_features == 1 + (1 + 2 * 2) + 1
    env.close()


def test_import_registers_the_ids_with_gymnasium():
    code = "import envs, gymnasium as gym; env = gym.make('perceiver_rl/Sim-MoveToBeacon-v0'); env.reset(seed=0); print('ok')"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2]
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "ok"


def test_map_names_match_pysc2_and_the_simulator():
    from envs.maps import MINIGAMES
    from envs.pysc2_compat import mini_games
    from envs.sim.catalog import RULES, SIM_MAPS

    assert MINIGAMES == tuple(sorted(mini_games.mini_games))
    assert SIM_MAPS == tuple(RULES) and set(SIM_MAPS) <= set(MINIGAMES)
    assert sorted(m for m in envs.ENV_IDS if "/Sim-" in m) == sorted(f"perceiver_rl/Sim-{m}-v0" for m in SIM_MAPS)


def test_every_simulated_map_has_a_scripted_agent():
    from envs.maps import MINIGAMES
    from envs.sc2.scripted import SCRIPTED_AGENTS
    from envs.sim.catalog import SIM_MAPS

    assert set(SIM_MAPS) <= set(SCRIPTED_AGENTS) <= set(MINIGAMES)


def test_sc2le_reference_scores_follow_the_papers_columns():
    from agents.app.sc2le import REFERENCE, minigame_of, reference_rows

    assert REFERENCE["GrandMaster"]["MoveToBeacon"] == 28 and REFERENCE["DeepMind human"]["BuildMarines"] == 138
    assert REFERENCE["Random"]["CollectMineralsAndGas"] == 12 and REFERENCE["Atari-net"]["DefeatRoaches"] == 101
    assert dict(reference_rows("CollectMineralShards"))["Relational (Zambaldi 2019)"] == 196
    assert minigame_of("perceiver_rl/Sim-CollectMineralShards-v0") == "CollectMineralShards"
    assert minigame_of("perceiver_rl/Tokens-CartPole-v1") is None


def test_unknown_env_id_lists_valid_ones():
    with pytest.raises(ValueError, match="Tokens-CartPole-v1"):
        envs.make_entry("perceiver_rl/Nope-v0")
