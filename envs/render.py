"""Replay frames of the StarCraft II minigames: a plain description of one moment (:class:`Frame`), drawn by
:func:`render` into a small palette image, and the images of an episode encoded as an animated GIF (:func:`encode_gif`)
or, where a video writer is installed, an MP4 (:func:`encode_mp4`).

A :class:`Frame` is what both games can say: the simulator from its own state (:mod:`envs.sim.render`), the real game
from the observation's raw units (:mod:`envs.sc2.render`). Coordinates are the raw-unit grid of the adapter
(``raw_resolution = spatial_size``: x right, y down, one cell per unit of ``size``), the grid the action's location
cells live on. The drawing: the map (its playable area, or its pathable cells), units as discs coloured by alliance
with a type label, a health bar, order lines to their targets (red: an attack), the chosen action of the step
(selected units outlined thick, an arrow to the target unit, a cross on the target location), and a status bar with
step, game loop, score and the action's name. An optional attention overlay: halos on the observation's entity slots
and a heat map over the location grid.

Pillow draws in RGB, then the image is mapped (no dithering) onto one fixed palette: identical frames give identical
bytes, and a 240-step episode is a GIF of a few hundred KB.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SELF, ALLY, NEUTRAL, ENEMY = 1, 2, 3, 4
"""pysc2's ``Alliance`` values (``raw_units[:, FeatureUnit.alliance]``)."""


@dataclass(frozen=True)
class UnitView:
    """One unit as drawn, in grid coordinates."""

    x: float
    y: float
    radius: float
    alliance: int
    """:data:`SELF`, :data:`ALLY`, :data:`NEUTRAL` or :data:`ENEMY`."""
    unit_type: int
    """The game's unit type id (labels: :data:`LABELS`)."""
    health: float | None = None
    """Fraction of full health (no bar when None: resources, pickups)."""
    tag: int = 0
    order_target: tuple[float, float] | None = None
    """Where its current order goes (a point, or its target unit's position), if known."""
    attacking: bool = False
    """The order is an attack (the line is drawn red)."""
    selected: bool = False
    """Selected in the game (pysc2's ``is_selected``): a thin outline."""
    building: bool = False
    """A structure under construction: drawn as a ring."""
    hidden: bool = False
    """Not visible to the player (fog of war): drawn dimmed, as a ring."""


@dataclass(frozen=True)
class ActionView:
    """The action chosen at a frame's observation (executed by the next step), in grid coordinates."""

    name: str
    """The action type's name (``Move_pt``); an illegal action is executed as ``no_op``, see :attr:`illegal`."""
    selected: tuple[int, ...] = ()
    """Tags of the units it commands."""
    target_unit: int | None = None
    """Tag of its target unit."""
    location: tuple[float, float] | None = None
    """Its target point (a location cell's centre)."""
    queued: bool = False
    illegal: str = ""
    """Why it was executed as ``no_op`` (``""``: it was legal)."""


@dataclass(frozen=True, eq=False)
class Frame:
    """One moment of an episode: the map, the units, the chosen action, the counters."""

    size: tuple[int, int]
    """Grid ``(W, H)``."""
    playable: tuple[float, float, float, float]
    """``(x0, y0, x1, y1)`` of the playable area (the view is cropped to it)."""
    units: tuple[UnitView, ...] = ()
    step: int = 0
    game_loop: int = 0
    score: float = 0.0
    action: ActionView | None = None
    title: str = ""
    """Shown in the status bar (the map's name)."""
    pathable: np.ndarray | None = None
    """``(H, W)`` bool: the map's pathable cells, drawn as ground (None: the playable rectangle is)."""
    slot_tags: tuple[int, ...] = ()
    """Tag of the unit in each entity slot of the observation (``attention["entities"][i]`` -> ``slot_tags[i]``)."""
    extra: Mapping[str, str] = field(default_factory=dict)
    """More ``key value`` pairs for the status bar."""


LABELS: dict[int, str] = {
    48: "M", 317: "B", 1680: "s", 105: "z", 9: "b", 110: "R", 45: "S", 18: "CC", 341: "m", 342: "G", 20: "Rf",
    19: "D", 21: "BR",
}  # fmt: skip
"""Type labels: Marine, Beacon, MineralShard, Zergling, Baneling, Roach, SCV, CommandCenter, MineralField,
VespeneGeyser, Refinery, SupplyDepot, Barracks; other types: ``?``."""

_BG, _GROUND, _EDGE = (22, 22, 26), (56, 60, 56), (120, 120, 120)
_ALLIANCE = {SELF: (70, 140, 255), ALLY: (80, 200, 90), NEUTRAL: (60, 200, 200), ENEMY: (230, 70, 60)}
_HP, _HP_LOST = (60, 220, 60), (150, 30, 30)
_MOVE, _ATTACK, _ACTION, _OUTLINE = (190, 190, 190), (255, 120, 100), (255, 230, 0), (255, 255, 255)
_TEXT, _BAR, _LABEL, _HIDDEN = (230, 230, 230), (12, 12, 12), (0, 0, 0), (110, 110, 110)
_HEAT, _HALO = (255, 80, 0), (255, 255, 140)
_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75)
_HEAT_ALPHA, _HALO_ALPHA = 0.6, 0.75
"""Largest opacities of the heat map and the halos (at the largest weight)."""
BAR_HEIGHT = 28
"""Status bar height in pixels (at least; the image height is rounded up to a multiple of 16 for video codecs)."""


def _blend(under: tuple[int, int, int], over: tuple[int, int, int], alpha: float) -> tuple[int, int, int]:
    return tuple(round(u + (o - u) * alpha) for u, o in zip(under, over))  # type: ignore[return-value]


def _palette() -> Image.Image:
    """The one palette of every frame: the drawing's colours and the overlays' blends over the ground."""
    colors = [_BG, _GROUND, _EDGE, *_ALLIANCE.values(), _HP, _HP_LOST, _MOVE, _ATTACK, _ACTION, _OUTLINE, _TEXT,
              _BAR, _LABEL, _HIDDEN]  # fmt: skip
    for under in (_GROUND, _BG):
        colors += [_blend(under, _HEAT, a) for a in _LEVELS] + [_blend(under, _HALO, a) for a in _LEVELS]
    colors = list(dict.fromkeys(colors))
    flat = [c for rgb in colors for c in rgb] + list(colors[0]) * (256 - len(colors))
    image = Image.new("P", (1, 1))
    image.putpalette(flat)
    return image


_PALETTE = _palette()


@dataclass(frozen=True)
class _Layout:
    """Grid -> pixels: the view (playable area plus a margin) scaled to ``width``, then the status bar."""

    x0: float
    y0: float
    scale: float
    width: int
    map_height: int
    height: int

    @classmethod
    def of(cls, frame: Frame, width: int) -> _Layout:
        w, h = frame.size
        px0, py0, px1, py1 = frame.playable
        x0, y0, x1, y1 = max(px0 - 1, 0.0), max(py0 - 1, 0.0), min(px1 + 1, float(w)), min(py1 + 1, float(h))
        if x1 <= x0 or y1 <= y0:
            x0, y0, x1, y1 = 0.0, 0.0, float(w), float(h)
        scale = width / (x1 - x0)
        map_height = math.ceil((y1 - y0) * scale)
        height = -(-(map_height + BAR_HEIGHT) // 16) * 16
        return cls(x0, y0, scale, width, map_height, height)

    def px(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.x0) * self.scale, (y - self.y0) * self.scale


def render(frame: Frame, attention: Mapping[str, np.ndarray] | None = None, width: int = 256) -> Image.Image:
    """``frame`` drawn as a palette (``"P"``) image ``width`` pixels wide. ``attention``: optional ``entities (N,)``
    weights of the observation's entity slots (halos on their units, size and opacity growing with the weight) and
    ``location (H, W)`` probabilities over the grid (a translucent heat map); both scaled by their maximum."""
    layout = _Layout.of(frame, width)
    image = Image.new("RGB", (layout.width, layout.height), _BG)
    _draw_ground(image, frame, layout)
    if attention:
        image = _draw_attention(image, frame, layout, attention)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing: the palette holds the text colours only
    units = {u.tag: u for u in frame.units}
    for unit in frame.units:
        if unit.order_target is not None:
            colour = _ATTACK if unit.attacking else _MOVE
            draw.line([layout.px(unit.x, unit.y), layout.px(*unit.order_target)], fill=colour, width=1)
    _draw_action_lines(draw, frame, layout, units)
    chosen = set(frame.action.selected) if frame.action else set()
    for unit in frame.units:
        _draw_unit(draw, unit, layout, unit.tag in chosen)
    _draw_cross(draw, frame, layout)
    _draw_status(draw, frame, layout)
    return image.quantize(palette=_PALETTE, dither=Image.Dither.NONE)


def _draw_ground(image: Image.Image, frame: Frame, layout: _Layout) -> None:
    if frame.pathable is not None:
        mask = Image.fromarray(np.asarray(frame.pathable, bool).astype(np.uint8) * 255, "L")
        image.paste(_GROUND, (0, 0), _to_map(mask, layout))
        return
    x0, y0, x1, y1 = frame.playable
    ImageDraw.Draw(image).rectangle([*layout.px(x0, y0), *layout.px(x1, y1)], fill=_GROUND, outline=_EDGE)


def _to_map(grid: Image.Image, layout: _Layout) -> Image.Image:
    """An image of the grid (one pixel per cell) cropped to the view and scaled onto the map area."""
    box = (layout.x0, layout.y0, layout.x0 + layout.width / layout.scale, layout.y0 + layout.map_height / layout.scale)
    return grid.transform((layout.width, layout.map_height), Image.Transform.EXTENT, box, Image.Resampling.NEAREST)


def _draw_attention(
    image: Image.Image, frame: Frame, layout: _Layout, attention: Mapping[str, np.ndarray]
) -> Image.Image:
    """The heat map and the halos on a transparent layer, composited over ``image``."""
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    location = attention.get("location")
    if location is not None:
        p = np.asarray(location, np.float64)
        top = float(p.max()) if p.size else 0.0
        if top > 0:
            alpha = np.round(np.clip(p / top, 0, 1) * _HEAT_ALPHA * 255).astype(np.uint8)
            heat = Image.new("RGBA", (p.shape[1], p.shape[0]), (*_HEAT, 0))
            heat.putalpha(Image.fromarray(alpha, "L"))
            layer.paste(_to_map(heat, layout), (0, 0))
    weights = attention.get("entities")
    if weights is not None and frame.slot_tags:
        w = np.asarray(weights, np.float64)[: len(frame.slot_tags)]
        top = float(w.max()) if w.size else 0.0
        draw = ImageDraw.Draw(layer)
        units = {u.tag: u for u in frame.units}
        for tag, weight in zip(frame.slot_tags, (w / top if top > 0 else w).tolist()):
            unit = units.get(tag)
            if unit is None or not weight > 0:
                continue
            weight = min(weight, 1.0)
            x, y = layout.px(unit.x, unit.y)
            r = _radius_px(unit, layout) + 2 + 8 * weight
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(*_HALO, round(255 * _HALO_ALPHA * weight)))
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def _radius_px(unit: UnitView, layout: _Layout) -> float:
    return max(unit.radius * layout.scale, 3.0)


def _draw_action_lines(draw: ImageDraw.ImageDraw, frame: Frame, layout: _Layout, units: dict[int, UnitView]) -> None:
    """Arrows from the commanded units to the target unit, or lines to a cross on the target location."""
    action = frame.action
    if action is None:
        return
    sources = [units[t] for t in action.selected if t in units]
    target = units.get(action.target_unit) if action.target_unit is not None else None
    if target is not None:
        tip = layout.px(target.x, target.y)
        back = _radius_px(target, layout) + 1
        for unit in sources:
            _arrow(draw, layout.px(unit.x, unit.y), tip, back)
    if action.location is not None:
        cx, cy = layout.px(*action.location)
        for unit in sources:
            draw.line([layout.px(unit.x, unit.y), (cx, cy)], fill=_ACTION, width=1)


def _draw_cross(draw: ImageDraw.ImageDraw, frame: Frame, layout: _Layout) -> None:
    """A cross on the action's target location (over the units)."""
    if frame.action is None or frame.action.location is None:
        return
    cx, cy = layout.px(*frame.action.location)
    d = 4
    draw.line([cx - d - 1, cy - d - 1, cx + d + 1, cy + d + 1], fill=_BAR, width=4)
    draw.line([cx - d - 1, cy + d + 1, cx + d + 1, cy - d - 1], fill=_BAR, width=4)
    draw.line([cx - d, cy - d, cx + d, cy + d], fill=_ACTION, width=2)
    draw.line([cx - d, cy + d, cx + d, cy - d], fill=_ACTION, width=2)


def _arrow(draw: ImageDraw.ImageDraw, start: tuple[float, float], tip: tuple[float, float], back: float) -> None:
    dx, dy = tip[0] - start[0], tip[1] - start[1]
    length = math.hypot(dx, dy)
    if length <= back:
        return
    ux, uy = dx / length, dy / length
    end = (tip[0] - ux * back, tip[1] - uy * back)
    draw.line([start, end], fill=_ACTION, width=2)
    head = 5
    left = (end[0] - ux * head - uy * head * 0.6, end[1] - uy * head + ux * head * 0.6)
    right = (end[0] - ux * head + uy * head * 0.6, end[1] - uy * head - ux * head * 0.6)
    draw.polygon([end, left, right], fill=_ACTION)


def _draw_unit(draw: ImageDraw.ImageDraw, unit: UnitView, layout: _Layout, chosen: bool) -> None:
    x, y = layout.px(unit.x, unit.y)
    r = _radius_px(unit, layout)
    box = [x - r, y - r, x + r, y + r]
    colour = _ALLIANCE.get(unit.alliance, _HIDDEN)
    if unit.hidden:
        draw.ellipse(box, outline=_HIDDEN, width=1)
    elif unit.building:
        draw.ellipse(box, outline=colour, width=2)
    else:
        draw.ellipse(box, fill=colour)
    if chosen:
        draw.ellipse([x - r - 2, y - r - 2, x + r + 2, y + r + 2], outline=_ACTION, width=2)
    elif unit.selected:
        draw.ellipse([x - r - 1, y - r - 1, x + r + 1, y + r + 1], outline=_OUTLINE, width=1)
    label = LABELS.get(unit.unit_type, "?")
    if r >= 4 and not unit.hidden:
        font = _font(max(7, min(int(r * 1.3), 14)))
        draw.text((x, y), label, fill=_LABEL if not unit.building else colour, font=font, anchor="mm")
    if unit.health is not None and not unit.hidden:
        w, top = 2 * r, y - r - 4
        filled = x - r + w * min(max(unit.health, 0.0), 1.0)
        draw.rectangle([x - r, top, x + r, top + 1], fill=_HP_LOST)
        if filled > x - r:
            draw.rectangle([x - r, top, filled, top + 1], fill=_HP)


def _draw_status(draw: ImageDraw.ImageDraw, frame: Frame, layout: _Layout) -> None:
    """Line 1: step, score, game loop, and the title where it fits; line 2: the action and ``extra``."""
    top = layout.map_height
    draw.rectangle([0, top, layout.width, layout.height], fill=_BAR)
    font = _font(10)
    first = f"step {frame.step}  score {frame.score:g}  loop {frame.game_loop}"
    draw.text((3, top + 2), _fit(draw, first, font, layout.width - 6), fill=_TEXT, font=font)
    room = layout.width - 3 - _width(first + "  ", font) - 3
    if frame.title and _width(frame.title, font) <= room:
        draw.text((layout.width - 3, top + 2), frame.title, fill=_HIDDEN, font=font, anchor="ra")
    action = frame.action
    second = ""
    if action is not None:
        second = action.name + (" (queued)" if action.queued else "")
        if action.illegal:
            second += f": illegal, no_op ({action.illegal})"
    second = "  ".join([second, *(f"{k} {v}" for k, v in frame.extra.items())]).strip()
    draw.text((3, top + 14), _fit(draw, second, font, layout.width - 6), fill=_ACTION, font=font)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    """``text`` cut (with ``...``) to ``width`` pixels."""
    if _width(text, font) <= width:
        return text
    while text and _width(text + "...", font) > width:
        text = text[:-1]
    return text + "..."


def _width(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> float:
    """Width of ``text`` as drawn without anti-aliasing (hinted glyphs: wider than ``textlength`` says)."""
    return font.getlength(text, mode="1")


_FONTS: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` pixels (the same glyphs on every machine with this Pillow)."""
    if size not in _FONTS:
        _FONTS[size] = ImageFont.load_default(size=size)
    return _FONTS[size]


# ------------------------------------------------------------------------------------------------ encoding
def encode_gif(images: Sequence[Image.Image], duration_ms: int = 100) -> bytes:
    """``images`` as an animated GIF (``duration_ms`` per frame, looping). Pillow merges consecutive identical
    frames (the step counter makes an episode's frames differ)."""
    if not images:
        raise ValueError("encode_gif: no images")
    out = io.BytesIO()
    first, *rest = images
    first.save(out, format="GIF", save_all=True, append_images=rest, duration=duration_ms, loop=0, optimize=True)
    return out.getvalue()


def video_writer_problem() -> str | None:
    """Why MP4 cannot be written here (``imageio`` with its ffmpeg plugin and binary), or None."""
    try:
        import imageio.v2  # noqa: F401
        import imageio_ffmpeg  # type: ignore[import-untyped]
    except ImportError:
        return "no video writer is installed (pip install imageio imageio-ffmpeg)"
    try:
        imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return "no video writer is installed (imageio-ffmpeg finds no ffmpeg binary)"
    return None


def encode_mp4(images: Sequence[Image.Image], fps: int = 10) -> bytes:
    """``images`` as an H.264 MP4 at ``fps`` (needs :func:`video_writer_problem` to be None); bit-exact muxing, so
    the same images give the same bytes."""
    import tempfile
    from pathlib import Path

    import imageio.v2 as imageio

    problem = video_writer_problem()
    if problem:
        raise RuntimeError(problem)
    if not images:
        raise ValueError("encode_mp4: no images")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "episode.mp4"
        writer = imageio.get_writer(
            path, format="FFMPEG", mode="I", fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=16,
            ffmpeg_log_level="error", output_params=["-fflags", "+bitexact", "-map_metadata", "-1", "-threads", "1"],
        )  # fmt: skip
        try:
            for image in images:
                writer.append_data(np.asarray(image.convert("RGB")))
        finally:
            writer.close()
        return path.read_bytes()
