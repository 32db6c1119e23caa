"""Replay frames of :class:`envs.sc2.env.SC2MinigameEnv` (``env.frame()``, ``env.action_view()``).

- On the simulator the units come from the simulator's own state (:meth:`envs.sim.env.SimSC2Env.frame`); on the real
  game (or any other backend) from the last observation: the raw units (position, alliance, type, health ratio,
  ``is_selected``; pysc2 reports no order targets, so a unit's line goes to where this env last sent it, the
  converter's own record behind the ``order_target_*`` entity features) and the minimap's ``pathable`` layer.
- The chosen action comes from what the converter made of it: the ``FunctionCall`` it returned names the commanded
  and targeted units by their rows in the raw units the action was chosen from, and the location by its grid cell
  (:meth:`envs.sc2.convert.TimestepConverter.action`); the rows become tags here, with that observation's raw units.
- The entity slots of the observation (what an attention overlay weighs) are the converter's kept rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.pysc2_compat import RAW_FUNCTIONS, FeatureUnit, MinimapFeatures
from envs.render import NEUTRAL, ActionView, Frame, UnitView

_TAG, _X, _Y = int(FeatureUnit.tag), int(FeatureUnit.x), int(FeatureUnit.y)
_ALLIANCE, _TYPE, _RADIUS = int(FeatureUnit.alliance), int(FeatureUnit.unit_type), int(FeatureUnit.radius)
_HEALTH_RATIO, _SELECTED = int(FeatureUnit.health_ratio), int(FeatureUnit.is_selected)
_BUILD_PROGRESS = int(FeatureUnit.build_progress)
_PATHABLE = MinimapFeatures.pathable.index
_MIN_RADIUS = 0.5
"""Grid radius of a unit whose raw radius truncates to 0 (pysc2's raw ``radius`` is an int: a marine's 0.375 is 0)."""


def raw_units(raw: np.ndarray) -> np.ndarray:
    """pysc2's ``raw_units`` as a ``(K, 46)`` array (pysc2 gives ``(0,)`` for no unit)."""
    raw = np.asarray(raw)
    return raw.reshape(0, len(FeatureUnit)) if raw.size == 0 else raw


def game_frame(timestep: Any, order_targets: dict[int, list[tuple[int, int]]], grid: tuple[int, int]) -> Frame:
    """The frame of a pysc2 ``timestep`` from its observation alone (the real game): raw units, ``pathable`` cells,
    game loop and curriculum score; ``order_targets``: tag -> queue of grid cells the env sent the unit to."""
    o = timestep.observation
    units = []
    for row in raw_units(o["raw_units"]).tolist():
        alliance, tag = int(row[_ALLIANCE]), int(row[_TAG])
        queue = order_targets.get(tag)
        target = None if not queue else (queue[0][0] + 0.5, queue[0][1] + 0.5)
        health = None if alliance == NEUTRAL else row[_HEALTH_RATIO] / 255
        units.append(
            UnitView(
                row[_X] + 0.5,
                row[_Y] + 0.5,
                max(float(row[_RADIUS]), _MIN_RADIUS),
                alliance,
                int(row[_TYPE]),
                health,
                tag,
                target,
                selected=bool(row[_SELECTED]),
                building=0 < row[_BUILD_PROGRESS] < 100,
            )  # fmt: skip
        )
    pathable = np.asarray(o["feature_minimap"])[_PATHABLE] > 0
    rows, cols = np.nonzero(pathable)
    if len(rows):
        playable = (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
    else:
        playable, pathable = (0.0, 0.0, float(grid[0]), float(grid[1])), None
    return Frame(
        size=grid, playable=playable, units=tuple(units), game_loop=int(np.asarray(o["game_loop"]).reshape(-1)[0]),
        score=float(np.asarray(o["score_cumulative"])[0]), pathable=pathable,
    )  # fmt: skip


def action_view(name: str, call: Any, illegal: str, raw: np.ndarray) -> ActionView:
    """The action chosen as action type ``name``, executed as ``call`` (``no_op`` when ``illegal`` says why), its unit
    arguments rows of ``raw``, the raw units it was chosen from."""
    raw = raw_units(raw)
    selected: tuple[int, ...] = ()
    target, location, queued = None, None, False
    for arg, value in zip(RAW_FUNCTIONS[int(call.function)].args, call.arguments):
        if arg.name == "unit_tags":
            selected = tuple(int(raw[r, _TAG]) for r in value)
        elif arg.name == "target_unit_tag":
            target = int(raw[value[0], _TAG])
        elif arg.name == "world":
            location = (value[0] + 0.5, value[1] + 0.5)
        elif arg.name == "queued":
            queued = bool(value[0])
    return ActionView(name, selected, target, location, queued, illegal)


def env_frame(env: Any) -> Frame:
    """The frame of ``env``'s (an ``SC2MinigameEnv``) last observation, with its step counter, the map's name and the
    observation's entity slots."""
    timestep = env._timestep
    if timestep is None:
        raise RuntimeError("frame() before the first reset()")
    converter = env.converter
    size = converter.config.spatial_size
    if callable(getattr(env._env, "frame", None)):
        frame = env._env.frame()
    else:
        frame = game_frame(timestep, converter._order_targets, (size, size))
    slot_tags = tuple(int(t) for t in converter._kept[:, _TAG].tolist())
    return Frame(
        size=frame.size, playable=frame.playable, units=frame.units, step=int(env._stats["episode_length"]),
        game_loop=frame.game_loop, score=frame.score, title=env.game.name, pathable=frame.pathable,
        slot_tags=slot_tags,
    )  # fmt: skip


def env_action(env: Any) -> ActionView | None:
    """The action ``env``'s last ``step()`` executed (None after ``reset()``)."""
    if env._acted is None:
        return None
    action, call, illegal, before = env._acted
    name = env.converter.action_types[int(np.asarray(action["action_type"]))].name
    return action_view(name, call, illegal, before.observation["raw_units"])
