"""The pysc2-protocol simulator: determinism, dynamics and rules, scripted agents' scores."""

from __future__ import annotations

import numpy as np
import pytest

from envs.pysc2_compat import RAW_FUNCTIONS, FeatureUnit, MinimapFeatures
from envs.sc2.convert import ENTITY_FEATURES
from envs.sc2.env import SC2MinigameEnv
from envs.sc2.scripted import SCRIPTED_AGENTS, run_episode
from envs.sim.catalog import RULES, SIM_MAPS
from envs.sim.geometry import MapConfig
from support.sim import assert_same_protocol_as_pysc2s_test_env

_X, _Y = ENTITY_FEATURES.index("x"), ENTITY_FEATURES.index("y")

PICKUP_MAPS = [m for m in SIM_MAPS if RULES[m].kind == "pickups"]
"""The pickups maps (the combat maps: test_sim_combat.py)."""
RECORDED = {"MoveToBeacon": (26.0, 3.0), "CollectMineralShards": (138.0, 10.0)}
"""Mean scripted scores recorded in docs/envs.md (10 episodes, seeds 0-9) and the tolerance on 4 episodes; one per
movement map."""


def _random_legal_action(env, obs, rng):
    spec = env.act_spec
    k = int(rng.choice(np.flatnonzero(obs["action_type_mask"])))
    sel = np.full(spec.max_selected, spec.max_entities, np.int64)
    units = np.flatnonzero(obs["selectable_mask"])
    sel[: len(units)] = rng.permutation(units)[: spec.max_selected]
    cells = np.flatnonzero(obs["location_mask"].reshape(-1))
    return {
        "action_type": k,
        "queued": int(rng.integers(2)),
        "selected_units": sel,
        "target_unit": 0,
        "location": int(rng.choice(cells)),
    }


@pytest.mark.parametrize("map_name", SIM_MAPS)
def test_episodes_are_identical_under_one_seed(map_name):
    runs = []
    for _ in range(2):
        env, rng = SC2MinigameEnv(map_name, backend="sim"), np.random.default_rng(0)
        obs, _ = env.reset(seed=7)
        trace = [obs["entities"].copy()]
        for _ in range(60):
            obs, reward, terminated, *_ = env.step(_random_legal_action(env, obs, rng))
            trace += [obs["entities"].copy(), np.array([reward])]
            if terminated:  # a combat map's marines can all die
                break
        runs.append(np.concatenate([t.reshape(-1) for t in trace]))
    np.testing.assert_array_equal(runs[0], runs[1])
    # another seed gives another start (the economy maps draw one bit, the SCVs' side: some of 8 seeds differ)
    others = [SC2MinigameEnv(map_name, backend="sim").reset(seed=seed)[0]["entities"] for seed in range(8, 16)]
    assert any(not np.array_equal(other, runs[0][: other.size].reshape(other.shape)) for other in others)


def test_marine_moves_at_game_speed_and_episode_lasts_the_map_timer():
    env = SC2MinigameEnv("MoveToBeacon", backend="sim")
    obs, _ = env.reset(seed=3)
    world = env._env._world
    start = world.marines.pos[0].copy()
    far = (22, 63 - 20) if start[0] > 33 else (43, 63 - 35)  # (x, y) minimap cell far from the marine
    a = {
        "action_type": 1,
        "queued": 0,
        "selected_units": np.array([0, 32, 32, 32]),
        "target_unit": 0,
        "location": far[1] * 64 + far[0],
    }
    env.step(a)
    moved = np.linalg.norm(world.marines.pos[0] - start)
    assert moved == pytest.approx(8 * MapConfig().marine_speed)  # step_mul 8 game loops at 2.25 / 16 per loop
    steps = 1
    while True:
        *_, terminated, truncated, info = env.step({**a, "action_type": 0})
        steps += 1
        if terminated:
            break
    assert steps == 240 and info["game_loop"] == 1920 and not truncated


def test_beacon_respawns_at_least_5_away_and_scores():
    env = SC2MinigameEnv("MoveToBeacon", backend="sim")
    agent = SCRIPTED_AGENTS["MoveToBeacon"](env.act_spec)
    obs, _ = env.reset(seed=0)
    rules, world = env._env._rules, env._env._world
    for _ in range(100):
        obs, reward, *_, info = env.step(agent.act(obs))
        if reward:
            d = np.linalg.norm(world.pickups.pos[0] - world.marines.pos[0])
            assert d >= 5.0 and rules.spawn_region.rect[0] <= world.pickups.pos[0, 0] <= rules.spawn_region.rect[2]
    assert info["score_cumulative"][0] == info["episode_return"] > 0


def test_shards_respawn_as_a_set_of_20_and_pay_minerals():
    env = SC2MinigameEnv("CollectMineralShards", backend="sim")
    agent = SCRIPTED_AGENTS["CollectMineralShards"](env.act_spec)
    obs, _ = env.reset(seed=0)
    counts = []
    for _ in range(240):
        obs, reward, terminated, _, info = env.step(agent.act(obs))
        counts.append(int(obs["targetable_mask"].sum()))
        if terminated:
            break
    assert info["episode_return"] > 20 and 20 in counts[5:]  # a fresh set appeared after the first was taken
    assert obs["scalars"][1] == pytest.approx(info["episode_return"] * 100 / 1000)  # minerals / 1000


@pytest.mark.parametrize("map_name", PICKUP_MAPS)
def test_scripted_agents_reach_their_recorded_scores(map_name):
    env = SC2MinigameEnv(map_name, backend="sim")
    agent = SCRIPTED_AGENTS[map_name](env.act_spec)
    scores = [run_episode(env, agent, seed=s) for s in range(4)]
    mean, tol = RECORDED[map_name]
    assert abs(np.mean(scores) - mean) <= tol, scores


def test_simulator_speaks_the_same_protocol_as_pysc2s_test_env():
    sim, mock = assert_same_protocol_as_pysc2s_test_env("CollectMineralShards")
    assert (
        sim._env.action_spec()[0].functions[RAW_FUNCTIONS.Move_pt.id]
        == mock._env.action_spec()[0].functions[RAW_FUNCTIONS.Move_pt.id]
    )


def test_rendered_minimap_agrees_with_pysc2s_raw_unit_positions():
    env = SC2MinigameEnv("CollectMineralShards", backend="sim")
    env.reset(seed=2)
    obs = env._env.step([RAW_FUNCTIONS.no_op()])[0].observation
    relative = obs["feature_minimap"][MinimapFeatures.player_relative.index]
    for unit in obs["raw_units"]:
        assert relative[unit[FeatureUnit.y], unit[FeatureUnit.x]] == unit[FeatureUnit.alliance]


def _true_pickup_view(env) -> tuple[np.ndarray, np.ndarray]:
    """The alive pickups' positions as the contract should show them: ``(K, 2)`` grid coordinates (x, y)
    and the ``(H, W)`` neutral plane, straight from the simulator's world (no cache involved)."""
    world, builder = env._env._world, env._env._builder
    pos = world.pickups.pos[world.pickups.alive]
    size = env.obs_spec.spatial_size[0]
    grid = np.stack([pos[:, 0], size - pos[:, 1]], axis=1)  # pysc2's world -> raw transform (y flipped)
    plane = np.zeros(env.obs_spec.spatial_size, np.float32)
    for x, y in pos:
        col, row = builder._cell(x, y)
        plane[row, col] = 1
    return grid, plane


@pytest.mark.parametrize("map_name", PICKUP_MAPS)
def test_a_no_op_policy_always_observes_the_true_pickups_across_resets(map_name):
    """Regression: pickup protos and planes were cached by unit tag, and tags restarted with every world, so a
    policy that scored little kept seeing the pickups of an earlier episode (entity and plane)."""
    env = SC2MinigameEnv(map_name, backend="sim")
    size = env.obs_spec.spatial_size[0]
    noop = {"action_type": 0, "queued": 0, "selected_units": np.full(4, 32), "target_unit": 0, "location": 0}
    checked = 0
    for episode in range(40):
        obs, _ = env.reset(seed=episode)
        steps = 240 if episode in (0, 1) else 3  # two whole episodes (the LAST path), then short ones
        for t in range(steps + 1):
            if t:
                obs, _, terminated, _, _ = env.step(noop)
                if terminated:
                    break
            grid, plane = _true_pickup_view(env)
            seen = obs["entities"][obs["targetable_mask"].astype(bool)][:, [_X, _Y]] * size
            assert len(seen) == len(grid), (episode, t)
            # raw unit positions are integer grid coordinates: the observed one is the true one, floored
            np.testing.assert_array_equal(
                np.sort(seen, axis=0), np.sort(np.floor(grid), axis=0), err_msg=f"episode {episode}"
            )
            np.testing.assert_array_equal(obs["spatial"][1], plane, err_msg=f"neutral plane, episode {episode}")
            checked += 1
    assert checked > 500


def test_own_units_carry_the_target_of_the_order_this_env_gave_until_it_ends():
    env = SC2MinigameEnv("MoveToBeacon", backend="sim")
    known, tx, ty = (ENTITY_FEATURES.index(f) for f in ("order_target_known", "order_target_x", "order_target_y"))
    obs, _ = env.reset(seed=3)
    marine = int(np.flatnonzero(obs["selectable_mask"])[0])
    assert obs["entities"][:, known].sum() == 0
    col = obs["entities"][marine, _X] * 64
    x, y = (24 if col > 33 else 42), 36  # a playable cell >= 9 units away: several steps
    move = {
        "action_type": 1,
        "queued": 0,
        "selected_units": np.array([marine, 32, 32, 32]),
        "target_unit": 0,
        "location": y * 64 + x,
    }
    obs, *_ = env.step(move)
    assert obs["entities"][marine, [known, tx, ty]].tolist() == [1.0, x / 64, y / 64]
    assert obs["entities"][~obs["selectable_mask"].astype(bool), known].sum() == 0  # the beacon has no order
    noop = {**move, "action_type": 0}
    for _ in range(40):  # the marine arrives, its order ends, and the target is forgotten
        obs, *_ = env.step(noop)
    assert obs["entities"][marine, known] == 0
    env.step(move)
    obs, _ = env.reset(seed=4)
    assert obs["entities"][:, known].sum() == 0


def test_order_target_follows_the_queue_as_orders_finish():
    """Move to A, then a queued move to B: the feature shows A until A is reached, then B."""
    env = SC2MinigameEnv("MoveToBeacon", backend="sim", action_functions=["no_op", "Move_pt"])
    known, tx = ENTITY_FEATURES.index("order_target_known"), ENTITY_FEATURES.index("order_target_x")
    obs, _ = env.reset(seed=3)
    marine = int(np.flatnonzero(obs["selectable_mask"])[0])
    a, b = (30, 30), (40, 34)
    sel = np.array([marine, 32, 32, 32])
    env.step({"action_type": 1, "queued": 0, "selected_units": sel, "target_unit": 0, "location": a[1] * 64 + a[0]})
    obs, *_ = env.step(
        {"action_type": 1, "queued": 1, "selected_units": sel, "target_unit": 0, "location": b[1] * 64 + b[0]}
    )
    seen = []
    for _ in range(60):
        seen.append(round(float(obs["entities"][marine, tx]) * 64) if obs["entities"][marine, known] else None)
        obs, *_ = env.step({"action_type": 0, "queued": 0, "selected_units": sel, "target_unit": 0, "location": 0})
    assert seen[0] == a[0] and b[0] in seen and seen.index(b[0]) > 0 and seen[-1] is None
    assert seen[: seen.index(b[0])] == [a[0]] * seen.index(b[0])


@pytest.mark.parametrize("map_name", ["MoveToBeacon", "DefeatRoaches"])
def test_pooled_planes_are_the_full_planes_average_pooled(map_name):
    """``plane_pool``: the planes arrive as torch's AvgPool2d of the full planes (the same float32 numbers), every
    other field and the episode unchanged; a pool that does not divide the map is refused, naming the key."""
    import torch

    full, pooled = SC2MinigameEnv(map_name, backend="sim"), SC2MinigameEnv(map_name, backend="sim", plane_pool=8)
    assert pooled.observation_space["spatial"].shape == (4, 8, 8)
    assert pooled.observation_space["location_mask"].shape == (64, 64)
    rng = np.random.default_rng(0)
    (a, _), (b, _) = full.reset(seed=5), pooled.reset(seed=5)
    for t in range(60):
        expected = torch.nn.functional.avg_pool2d(torch.from_numpy(a["spatial"])[None], 8)[0].numpy()
        np.testing.assert_array_equal(b["spatial"], expected, err_msg=f"step {t}")
        assert pooled.observation_space.contains(b)
        for key in a.keys() - {"spatial"}:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{key}, step {t}")
        action = _random_legal_action(full, a, rng)
        (a, ra, done, *_), (b, rb, *_) = full.step(action), pooled.step(action)
        assert ra == rb
        if done:
            (a, _), (b, _) = full.reset(seed=t), pooled.reset(seed=t)
    for bad in (5, 0, 128):
        with pytest.raises(ValueError, match=f"plane_pool: expected a positive divisor of spatial_size=64, got {bad}"):
            SC2MinigameEnv(map_name, backend="sim", plane_pool=bad)
