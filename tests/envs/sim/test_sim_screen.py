"""pysc2's feature-layer interface on the simulator (``envs/sim/feature_interface.py``): pysc2's own scripted agents and
random agent, unmodified, through pysc2's own ``run_loop``; the screen's geometry against pysc2's transforms; the
selection, the camera and the UI actions; actions the simulator does not execute are ignored."""

from __future__ import annotations

import contextlib
import importlib
import io

import numpy as np
import pytest

from envs.pysc2_compat import PYSC2_MODULE, FunctionCall, actions, features, point, sc2_env, sc_pb
from envs.sim.env import SimSC2Env

F = actions.FUNCTIONS
SELF, NEUTRAL, ENEMY = 1, 3, 4
MINIGAMES = ("MoveToBeacon", "CollectMineralShards", "FindAndDefeatZerglings", "DefeatRoaches",
             "DefeatZerglingsAndBanelings")  # fmt: skip
"""The maps whose units the interface knows (their command cards: Marines)."""


def _aif() -> sc2_env.AgentInterfaceFormat:
    return sc2_env.AgentInterfaceFormat(
        feature_dimensions=features.Dimensions(screen=84, minimap=64), use_feature_units=True
    )


def _env(map_name: str, seed: int = 0) -> SimSC2Env:
    return SimSC2Env(map_name=map_name, agent_interface_format=_aif(), step_mul=8, random_seed=seed)


def _agent(name: str):
    module = "random_agent" if name == "RandomAgent" else "scripted_agent"
    return getattr(importlib.import_module(f"{PYSC2_MODULE}.agents.{module}"), name)()


def _run(agent, env, **limits) -> float:
    run_loop = importlib.import_module(f"{PYSC2_MODULE}.env.run_loop").run_loop
    with contextlib.redirect_stdout(io.StringIO()):
        run_loop([agent], env, **limits)
    return agent.reward


def _own(obs) -> list:
    return [u for u in obs.feature_units if u.alliance == SELF]


def test_raw_action_formats_render_no_screen():
    """The gymnasium adapter's format (raw units and actions, an 8 x 8 screen) pays for no screen."""
    aif = sc2_env.AgentInterfaceFormat(
        feature_dimensions=features.Dimensions(screen=8, minimap=64), use_raw_units=True, use_raw_actions=True,
        raw_resolution=64,
    )  # fmt: skip
    env = SimSC2Env(map_name="DefeatRoaches", agent_interface_format=aif, random_seed=0)
    obs = env.reset()[0].observation
    assert env._interface is None
    assert not env._response.observation.feature_layer_data.renders.ListFields()
    assert not np.asarray(obs.feature_screen).any()


def test_the_screen_is_the_maps_camera_with_units_as_discs():
    env = _env("MoveToBeacon")
    obs = env.reset()[0].observation
    camera = env._response.observation.raw_data.player.camera
    assert (camera.x, camera.y) == (33.0, 25.0)  # CameraPan: the playable space's centre, 3 south
    relative = np.asarray(obs.feature_screen.player_relative)
    to_screen = env._features._world_to_feature_screen_px
    for unit, raw in zip(obs.feature_units, env._response.observation.raw_data.units):
        px = to_screen.fwd_pt(point.Point(raw.pos.x, raw.pos.y))
        assert (unit.x, unit.y) == (px.x, px.y) and relative[unit.y, unit.x] == unit.alliance
        disc_pixels = np.pi * (raw.radius * 84 / 24) ** 2
        assert abs((relative == unit.alliance).sum() - disc_pixels) <= 0.25 * disc_pixels + 3
    pathable = np.asarray(obs.feature_screen.pathable)
    assert pathable[0].sum() == 0 and pathable[10, 10] == 1  # the top row lies north of y = 36; (24.0, 34.0) inside
    assert np.asarray(obs.feature_minimap.camera).sum() == 24 * 24
    assert set(np.unique(np.asarray(obs.feature_screen.unit_density_aa))) <= set(range(0, 17))


@pytest.mark.parametrize(
    "map_name, agent, least",
    [("MoveToBeacon", "MoveToBeacon", 20), ("CollectMineralShards", "CollectMineralShards", 60),
     ("CollectMineralShards", "CollectMineralShardsFeatureUnits", 75), ("DefeatRoaches", "DefeatRoaches", 10)],
)  # fmt: skip
def test_pysc2_scripted_agents_play_through_run_loop(map_name, agent, least):
    assert _run(_agent(agent), _env(map_name), max_episodes=1) >= least


@pytest.mark.parametrize("map_name", MINIGAMES)
def test_the_random_agent_never_raises(map_name):
    np.random.seed(0)
    _run(_agent("RandomAgent"), _env(map_name), max_frames=150)


def test_select_point_rect_control_groups_and_available_actions():
    env = _env("MoveToBeacon")
    obs = env.reset()[0].observation
    assert F.Move_screen.id not in obs.available_actions  # the marine starts unselected
    assert F.select_army.id in obs.available_actions
    marine, beacon = _own(obs)[0], next(u for u in obs.feature_units if u.alliance == NEUTRAL)
    obs = env.step([F.select_point("select", (marine.x, marine.y))])[0].observation
    assert _own(obs)[0].is_selected and obs.single_select[0].unit_type == marine.unit_type
    assert {F.Move_screen.id, F.Attack_screen.id, F.Stop_quick.id, F.HoldPosition_quick.id} <= set(
        obs.available_actions
    )
    assert np.asarray(obs.feature_screen.selected).sum() > 0
    obs = env.step([F.select_control_group("set", 0)])[0].observation
    assert obs.control_groups[0].tolist() == [marine.unit_type, 1]
    empty_corner = (83, 83)
    obs = env.step([F.select_rect("select", empty_corner, empty_corner)])[0].observation
    assert _own(obs)[0].is_selected  # a rectangle without the player's units changes nothing
    obs = env.step([F.select_point("select", (beacon.x, beacon.y))])[0].observation
    assert not _own(obs)[0].is_selected and F.Move_screen.id not in obs.available_actions
    obs = env.step([F.select_control_group("recall", 0)])[0].observation
    assert _own(obs)[0].is_selected


def test_combat_maps_select_their_marines_at_start_and_after_each_wave():
    env, agent = _env("DefeatRoaches"), _agent("DefeatRoaches")
    agent.setup(env.observation_spec()[0], env.action_spec()[0])
    ts = env.reset()[0]
    assert len(ts.observation.multi_select) == 9 and all(u.is_selected for u in _own(ts.observation))
    first = {u.tag for u in env._response.observation.raw_data.units if u.alliance == SELF}
    while not ts.last():
        ts = env.step([agent.step(ts)])[0]
        own = _own(ts.observation)
        assert len(ts.observation.multi_select) + len(ts.observation.single_select) == len(own)  # the dead left
        tags = {u.tag for u in env._response.observation.raw_data.units if u.alliance == SELF}
        if tags and not tags & first:  # a wave: every marine replaced, and selected by the map's script
            assert all(u.is_selected for u in own)
            return
    pytest.fail("no wave in the episode")


def test_attack_on_a_roach_targets_it_and_moves_keep_formation_inside_the_map():
    env = _env("DefeatRoaches")
    obs = env.reset()[0].observation
    roach = next(u for u in obs.feature_units if u.alliance == ENEMY)
    env.step([F.Attack_screen("now", (roach.x, roach.y))])
    units = env._response.observation.raw_data.units
    targets = {o.target_unit_tag for u in units if u.alliance == SELF for o in u.orders}
    assert len(targets) == 1
    target = next(u for u in units if u.tag in targets)
    assert target.alliance == ENEMY and target.unit_type == roach.unit_type
    env.step([F.Move_screen("now", (42, 83))])  # south of the playable space, outside the marines' box
    points = [(o.target_world_space_pos.x, o.target_world_space_pos.y) for u in env._response.observation.raw_data.units
              if u.alliance == SELF for o in u.orders]  # fmt: skip
    assert len(set(points)) == 9 and min(y for _, y in points) >= 20.0  # in formation, and inside the map


def test_actions_the_simulator_does_not_execute_are_ignored():
    env = _env("CollectMineralShards")
    env.reset()
    env.step([F.select_army("select")])
    ignored = [sc_pb.Action(), FunctionCall(F.move_camera.id, [[0, 0]])]  # no-op; the map locks the camera
    for fill in (
        lambda a: a.action_ui.select_larva.SetInParent(),
        lambda a: setattr(a.action_ui.toggle_autocast, "ability_id", 386),
        lambda a: setattr(a.action_feature_layer.unit_command, "ability_id", 380),  # Stimpack: not researched
        lambda a: setattr(a.action_render.unit_command, "ability_id", 3794),  # the RGB interface
        lambda a: setattr(a.action_ui.multi_panel, "unit_index", 7),  # no 8th unit in the panel
    ):
        action = sc_pb.Action()
        fill(action)
        ignored.append(action)
    marines = [u.pos for u in env._response.observation.raw_data.units if u.alliance == SELF]
    for action in ignored:
        env.step([action])
        units = [u for u in env._response.observation.raw_data.units if u.alliance == SELF]
        assert [u.pos for u in units] == marines and not any(u.orders for u in units)
        assert all(u.is_selected for u in units) and env._interface.camera.centre == (33.0, 25.0)


def test_move_camera_moves_the_screen_where_the_map_allows_it():
    env = _env("FindAndDefeatZerglings")
    env.reset()
    assert env._interface.camera.centre == (32.0, 25.0)
    env.step([F.move_camera((16, 40))])
    camera = env._response.observation.raw_data.player.camera
    assert (camera.x, camera.y) == (16.5, 23.5)
    env.step([F.move_camera((0, 0))])
    assert env._interface.camera.centre == (10.0, 44.0)  # kept inside the playable space
