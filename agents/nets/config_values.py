"""What a valid config value is: :class:`ConfigError`, the valid range of each numeric field (declared next to
the field with :func:`ranged`), and the shape of RLlib's schedules. ``agents.experiment.loader`` applies them when a
config is built, naming the key, before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A bad experiment configuration; the message names the culprit (key, file or env)."""


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (its type name when it has none): the reason in a one-line error."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@dataclass(frozen=True)
class Range:
    """Valid values of a numeric field: ``ge`` / ``le`` inclusive, ``gt`` / ``lt`` exclusive bounds.

    Applies to every number in the value (each item of a list, recursively); ``None`` and strings are
    left to the field's type. Floats must also be finite (``agents.experiment.loader`` refuses NaN and inf everywhere).
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def __contains__(self, x: float) -> bool:
        return not (
            (self.ge is not None and x < self.ge) or (self.gt is not None and x <= self.gt)
            or (self.le is not None and x > self.le) or (self.lt is not None and x >= self.lt)
        )  # fmt: skip

    def describe(self) -> str:
        """``'>= 1'``, ``'in (0, 1]'``, ``'in [1, 1,024]'``, ..."""
        low = (self.ge, "[") if self.ge is not None else (self.gt, "(")
        high = (self.le, "]") if self.le is not None else (self.lt, ")")
        if low[0] is not None and high[0] is not None:
            return f"in {low[1]}{_number(low[0])}, {_number(high[0])}{high[1]}"
        if low[0] is not None:
            return f"{'>=' if low[1] == '[' else '>'} {_number(low[0])}"
        return f"{'<=' if high[1] == ']' else '<'} {_number(high[0])}"


def _number(x: float | None) -> str:
    """A bound as a user reads it: an int exactly, with thousands separators (``2,147,483,647``); a float ``:g``."""
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


MAX_WIDTH = 8192
"""Upper bound of a layer's width (channels, hidden units) in a model config: 20x the widest layer of AlphaStar's
policy (384-unit LSTM, 256-channel entity transformer); one 8192 x 8192 Linear is already 268 MB of fp32 weights."""

MAX_LAYERS = 1024
"""Upper bound of a layer or block count in a model config (AlphaStar: 3 transformer layers, 3 LSTM layers); the
entity encoders' bound (``perceiver_rl._checks.MAX_LAYERS``)."""

MAX_MAP_SIDE = 1024
"""Upper bound of a map side in cells (spatial sizes, pooling factors): SC2's minimap is 64, AlphaStar's 128; a
1024 x 1024 grid is 2**20 location logits per step."""


class NotFinite(ConfigError):
    """A value of the right type that no type accepts (NaN, inf)."""


def ranged(default: Any, **bounds: float) -> Any:
    """A dataclass field with ``default`` (a list default: a fresh copy per instance) whose numbers must lie in
    ``Range(**bounds)``; checked, with the key named, when the config is built (``config_from_dict``), i.e.
    before anything is written."""
    metadata = {"range": Range(**bounds)}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def schedule_problems(key: str, schedule: list[list[float]]) -> Iterator[tuple[str, str]]:
    """RLlib's piecewise-linear schedule ``[[step, value], ...]``: pairs, first step 0, steps increasing."""
    if not schedule:
        yield key, "expected a number or a schedule [[0, value], [step, value], ...], got []"
    for i, pair in enumerate(schedule):
        if len(pair) != 2:
            yield f"{key}[{i}]", f"expected a pair [env_step, value], got {pair!r}"
            return
    steps = [step for step, _ in schedule]
    if steps and steps[0] != 0:
        yield f"{key}[0]", f"expected the schedule to start at env step 0, got {schedule[0]!r}"
    for i in range(1, len(steps)):
        if steps[i] <= steps[i - 1]:
            yield f"{key}[{i}]", f"expected an env step > {steps[i - 1]:g} (increasing), got {schedule[i]!r}"


def check_range(path: str, rng: Range, value: Any) -> None:
    """Raise ``ConfigError`` naming ``path`` (or its list item) when a number of ``value`` is outside ``rng``."""
    if isinstance(value, list):
        for i, v in enumerate(value):
            check_range(f"{path}[{i}]", rng, v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and value not in rng:
        raise ConfigError(f"{path}: expected {rng.describe()}, got {value!r}")
