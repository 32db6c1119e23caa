"""Replay frames (:mod:`envs.render`): every simulated minigame draws its units from the simulator's state, the real
game's path draws from raw units, actions map to the units they command, episodes encode to small, deterministic
animated GIFs, and the attention overlay marks what it weighs."""

from __future__ import annotations

import dataclasses
import io

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

import envs  # noqa: F401  (registers the ids)
from envs.render import _ALLIANCE as COLOURS
from envs.render import _HIDDEN as HIDDEN_COLOUR
from envs.render import ENEMY, NEUTRAL, SELF, Frame, encode_gif, encode_mp4, render, video_writer_problem
from envs.sc2.env import SC2MinigameEnv
from envs.sc2.render import game_frame
from envs.sc2.scripted import SCRIPTED_AGENTS
from envs.sim.catalog import SIM_MAPS

MAPS = (
    "MoveToBeacon", "CollectMineralShards", "FindAndDefeatZerglings", "DefeatRoaches", "DefeatZerglingsAndBanelings",
    "CollectMineralsAndGas", "BuildMarines",
)  # fmt: skip


def _colours(image: Image.Image) -> set[tuple[int, int, int]]:
    return {tuple(c) for c in np.asarray(image.convert("RGB")).reshape(-1, 3).tolist()}


def _play(map_name: str, steps: int | None, seed: int = 0, scripted: bool = True) -> tuple[gym.Env, list[Image.Image]]:
    """``steps`` steps (None: the whole episode) of the map's scripted agent (or random actions), every frame drawn
    with the action chosen at it."""
    env = gym.make(f"perceiver_rl/Sim-{map_name}-v0")
    inner = env.unwrapped
    obs, _ = env.reset(seed=seed)
    agent = SCRIPTED_AGENTS[map_name](inner.act_spec)
    agent.reset()
    env.action_space.seed(seed)
    pending, images, n = inner.frame(), [], 0
    while steps is None or n < steps:
        obs, _, terminated, _, _ = env.step(agent.act(obs) if scripted else env.action_space.sample())
        images.append(render(dataclasses.replace(pending, action=inner.action_view())))
        pending, n = inner.frame(), n + 1
        if terminated:
            break
    images.append(render(pending))
    return env, images


def test_the_seven_minigames_are_the_simulated_maps():
    assert set(MAPS) == set(SIM_MAPS)


@pytest.mark.parametrize("map_name", MAPS)
def test_every_simulated_minigame_draws_its_units(map_name):
    env, images = _play(map_name, 12)
    frame = env.unwrapped.frame()
    env.close()
    assert frame.units and frame.step == 12 and frame.title == map_name
    alliances = {u.alliance for u in frame.units if not u.hidden}
    assert SELF in alliances
    if map_name in ("MoveToBeacon", "CollectMineralShards", "CollectMineralsAndGas", "BuildMarines"):
        assert NEUTRAL in alliances
    if map_name in ("DefeatRoaches", "DefeatZerglingsAndBanelings"):
        assert ENEMY in alliances
    if map_name == "FindAndDefeatZerglings":  # fog: the zerglings the marines do not see are grey rings
        assert any(u.hidden for u in frame.units)
    colours = _colours(images[-1])
    for alliance in alliances:
        assert COLOURS[alliance] in colours, (map_name, alliance)
    if any(u.hidden for u in frame.units):
        assert HIDDEN_COLOUR in colours
    x0, y0, x1, y1 = frame.playable
    assert all(x0 - 1 <= u.x <= x1 + 1 and y0 - 1 <= u.y <= y1 + 1 for u in frame.units), map_name


def test_the_action_names_the_units_it_commands():
    """A Move_unit of the marine to the beacon: the action view holds their tags, the next frame its order line."""
    env = SC2MinigameEnv("MoveToBeacon", backend="sim", action_functions=["no_op", "Move_pt", "Move_unit"])
    obs, _ = env.reset(seed=1)
    marine, beacon = int(np.flatnonzero(obs["selectable_mask"])[0]), int(np.flatnonzero(obs["targetable_mask"])[0])
    before = env.frame()
    tags = {u.alliance: u.tag for u in before.units}
    sel = np.full(env.act_spec.max_selected, env.act_spec.max_entities)
    sel[0] = marine
    action = {"action_type": 2, "queued": 0, "selected_units": sel, "target_unit": beacon, "location": 0}
    env.step(action)
    view = env.action_view()
    assert view.name == "Move_unit" and not view.illegal
    assert view.selected == (tags[SELF],) and view.target_unit == tags[NEUTRAL]
    after = env.frame()
    beacon_unit = next(u for u in after.units if u.alliance == NEUTRAL)
    assert next(u for u in after.units if u.alliance == SELF).order_target == pytest.approx(
        (beacon_unit.x, beacon_unit.y)
    )
    assert before.slot_tags[marine] == tags[SELF] and before.slot_tags[beacon] == tags[NEUTRAL]
    # a location: the cell's centre on the same grid as the units
    env.step({**action, "action_type": 1, "location": 30 * 64 + 25})
    assert env.action_view().location == (25.5, 30.5)
    env.close()


def test_the_real_games_path_draws_the_raw_units():
    """Without the simulator's state: raw units (cell centres) and the pathable layer of the observation."""
    env = SC2MinigameEnv("CollectMineralShards", backend="sim", sim_observations="protocol")
    env.reset(seed=2)
    sim = env.frame()
    game = game_frame(env._timestep, env.converter._order_targets, (64, 64))
    assert len(game.units) == len(sim.units) == 22
    for a, b in zip(game.units, sim.units):
        assert (a.tag, a.alliance, a.unit_type) == (b.tag, b.alliance, b.unit_type)
        assert abs(a.x - b.x) <= 0.5 and abs(a.y - b.y) <= 0.5
    assert game.playable == sim.playable and game.pathable is not None
    assert COLOURS[SELF] in _colours(render(game)) and COLOURS[NEUTRAL] in _colours(render(game))
    mock = SC2MinigameEnv("MoveToBeacon", backend="test")  # pysc2's SC2TestEnv: the game's protocol, no simulator
    mock.reset()
    render(mock.frame())
    env.close(), mock.close()


def test_an_episode_is_a_small_deterministic_animated_gif(capsys):
    env, images = _play("MoveToBeacon", None, seed=3, scripted=False)
    steps = env.unwrapped._stats["episode_length"]
    env.close()
    assert steps == 240
    data = encode_gif(images)
    again = encode_gif(_play("MoveToBeacon", None, seed=3, scripted=False)[1])
    assert data == again
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == steps + 1 and gif.info["loop"] == 0
    assert gif.info["duration"] == 100
    assert len(data) < 3 * 2**20
    with capsys.disabled():
        print(f"\n240-step MoveToBeacon GIF (random actions): {len(data) / 1024:.0f} KB")


def test_mp4_where_a_video_writer_is_installed():
    if video_writer_problem():
        pytest.skip(video_writer_problem())
    images = _play("DefeatRoaches", 10)[1]
    data = encode_mp4(images)
    assert data[4:8] == b"ftyp" and data == encode_mp4(images)


def _slot_of(frame: Frame, alliance: int) -> int:
    tag = next(u.tag for u in frame.units if u.alliance == alliance)
    return frame.slot_tags.index(tag)


def test_attention_marks_the_attended_entity_and_locations():
    env = SC2MinigameEnv("MoveToBeacon", backend="sim")
    env.reset(seed=4)
    frame = env.frame()
    env.close()
    plain = np.asarray(render(frame).convert("RGB")).astype(int)
    n = len(frame.slot_tags)
    beacon = next(u for u in frame.units if u.alliance == NEUTRAL)
    weights = np.zeros(max(n, 8))
    weights[_slot_of(frame, NEUTRAL)] = 1.0
    halo = np.asarray(render(frame, {"entities": weights}).convert("RGB")).astype(int)
    changed = np.argwhere((halo != plain).any(axis=2))  # (row, col)
    assert len(changed)
    scale = 256 / (frame.playable[2] - frame.playable[0] + 2)
    cx, cy = (beacon.x - frame.playable[0] + 1) * scale, (beacon.y - frame.playable[1] + 1) * scale
    assert np.hypot(changed[:, 1] - cx, changed[:, 0] - cy).max() <= beacon.radius * scale + 12
    location = np.zeros((64, 64))
    location[32:35, 25:30] = 1.0  # rows = grid y, columns = grid x
    heat = np.asarray(render(frame, {"location": location}).convert("RGB")).astype(int)
    rows, cols = np.nonzero((heat != plain).any(axis=2))
    assert len(rows)
    x, y = cols / scale + frame.playable[0] - 1, rows / scale + frame.playable[1] - 1
    assert x.min() >= 25 - 0.1 and x.max() <= 30 + 0.1 and y.min() >= 32 - 0.1 and y.max() <= 35 + 0.1
