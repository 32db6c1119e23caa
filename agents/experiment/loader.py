"""Reading an experiment: YAML (safe YAML only, a ``base:`` chain) and ``--set`` overrides into the typed,
checked :class:`~agents.experiment.config.ExperimentConfig`.

Every YAML read here (config files, their ``base:`` files, saved run configs, ``--set`` values) goes through
:class:`StrictSafeLoader`: ``yaml.SafeLoader`` that also refuses a duplicate key at any level (YAML would keep the
last one silently) and nesting deeper than :data:`MAX_DEPTH` levels; then :func:`check_expansion` refuses a value
that expands (through YAML aliases) to more than :data:`MAX_VALUES` values. A file must be a regular file (not a
FIFO or a device, which could block or never end) of at most :data:`MAX_FILE_BYTES`, in UTF-8. Each is one
``ConfigError`` line naming the file or the ``--set``.

Unknown keys and wrong types are rejected with a :class:`ConfigError` naming the key, e.g.
``model.policy.entity_encoder.num_latents: expected int, got 'abc'``. ``--set a.b=c`` overrides are parsed
with YAML scalar rules and type-checked the same way. Every numeric field's range (floats must be finite) and every
section's ``_cross_checks`` are applied when the config is built, before anything is written. Saved run configs
of older formats are brought up to date first (:mod:`agents.experiment.migrations`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ..nets.config_values import ConfigError, NotFinite, check_range, first_line
from .config import ExperimentConfig
from .migrations import check_evaluation_format, check_file_format, check_training_format, migrate_saved

_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")

MAX_FILE_BYTES = 1 << 20
"""Largest config file read (1 MiB): the committed configs are 1 to 3 KB, a saved run's ``config.yaml`` about 3 KB."""
MAX_VALUES = 100_000
"""Most values (mappings, lists, keys and scalars, counted as often as YAML aliases repeat them) one file or
``--set`` value may expand to: a config has a few hundred; an alias bomb (a 1 KB file of nested aliases expanding
to 10**8 values) would take minutes to check and gigabytes to write."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (a config has 4 levels: ``model.policy.entity_encoder.channels``)."""


class _DuplicateKey(yaml.YAMLError):
    """A mapping with the same key twice: ``key``, its ``line`` and the ``first`` line it was at (1-based)."""

    def __init__(self, key: Any, line: int, first: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line, self.first = key, line, first


class _TooDeep(yaml.YAMLError):
    """Nesting deeper than :data:`MAX_DEPTH`, found while composing the document."""


class StrictSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (no Python tags) that refuses a duplicate key in any mapping (``_DuplicateKey``) and
    nesting deeper than :data:`MAX_DEPTH` (``_TooDeep``) while composing, before PyYAML's recursion runs out."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    @contextmanager
    def _nested(self) -> Iterator[None]:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(f"nested deeper than {MAX_DEPTH} levels")
            yield
        finally:
            self._depth -= 1

    def compose_sequence_node(self, anchor: Any) -> Any:
        with self._nested():
            return super().compose_sequence_node(anchor)

    def compose_mapping_node(self, anchor: Any) -> Any:
        with self._nested():
            return super().compose_mapping_node(anchor)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, Any], int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *base``: its keys may be overridden
                    continue
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                try:
                    seen = (type(key).__name__, key)  # 1 and true are different keys
                    earlier = first.get(seen)
                except TypeError:  # an unhashable key: SafeLoader's own error follows
                    continue
                if earlier is not None:
                    raise _DuplicateKey(key, line, earlier)
                first[seen] = line
        return super().construct_mapping(node, deep=deep)


def _load(text: str, label: str, *, lines: bool = True) -> Any:
    """``text`` read with :class:`StrictSafeLoader`; ``ConfigError`` naming ``label`` for a duplicate key (with its
    lines when ``lines``) or nesting deeper than :data:`MAX_DEPTH`; other YAML errors raise ``yaml.YAMLError``
    for the caller to word."""
    try:
        return yaml.load(text, Loader=StrictSafeLoader)
    except _DuplicateKey as e:
        where = f" (line {e.line}; first at line {e.first})" if lines else ""
        raise ConfigError(f"{label}: duplicate key {e.key!r}{where}") from None
    except (_TooDeep, RecursionError):  # RecursionError: PyYAML's own recursion, should a path get past _TooDeep
        raise ConfigError(f"{label}: nested deeper than {MAX_DEPTH} levels") from None


def check_expansion(label: str, data: Any, level: int = 1) -> None:
    """``ConfigError`` naming ``label`` when ``data`` (whose outermost mapping or list is at nesting ``level``) nests
    deeper than :data:`MAX_DEPTH` or expands to more than :data:`MAX_VALUES` values. A YAML alias is the same Python
    object wherever it is used: each object is walked once (by ``id``) and its count reused, so counting an alias
    bomb stops after a few hundred steps; a value that contains itself expands forever."""
    memo: dict[int, tuple[int, int]] = {}  # id -> (values, levels of nesting from it down)
    inside: set[int] = set()

    def too_many() -> ConfigError:
        return ConfigError(f"{label}: expands to more than {MAX_VALUES:,} values (YAML aliases?)")

    def too_deep() -> ConfigError:
        return ConfigError(f"{label}: nested deeper than {MAX_DEPTH} levels")

    def walk(value: Any, depth: int) -> tuple[int, int]:
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, (list, tuple, set)):  # tuple: !!omap / !!pairs items, set: !!set
            children = list(value)
        else:
            return 1, 0
        if depth > MAX_DEPTH:
            raise too_deep()
        if id(value) in memo:
            size, height = memo[id(value)]
            if depth - 1 + height > MAX_DEPTH:
                raise too_deep()
            return size, height
        if id(value) in inside:  # an alias inside its own anchor: infinite
            raise too_many()
        inside.add(id(value))
        size, height = 1, 1
        for child in children:
            child_size, child_height = walk(child, depth + 1)
            size, height = size + child_size, max(height, child_height + 1)
            if size > MAX_VALUES:
                raise too_many()
        inside.discard(id(value))
        memo[id(value)] = size, height
        return size, height

    walk(data, level)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))  # fmt: skip


def _not_regular(path: Path, mode: int) -> ConfigError:
    kind = next((name for test, name in _KINDS if test(mode)), "of another kind")
    return ConfigError(f"{path}: not a regular file ({kind})")


def _read_text(path: Path) -> str:
    """The text of config file ``path``: a regular file (or a symlink to one) of at most :data:`MAX_FILE_BYTES`
    bytes of UTF-8; ``ConfigError`` naming it otherwise. A FIFO or a device is refused before it is opened (its
    ``open`` or ``read`` could block or never end); the file is opened without blocking and checked again on the
    open descriptor, so that nothing swapped in between is read."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, st.st_mode)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror or e})") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        raw = f.read(MAX_FILE_BYTES + 1) if st.st_size <= MAX_FILE_BYTES else b""
    if st.st_size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
        size = max(st.st_size, len(raw))
        raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB ({size:,} bytes; a config has a few KB)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (invalid byte 0x{raw[e.start]:02x} at offset {e.start})") from None


def _check_type(path: str, tp: Any, value: Any) -> Any:
    """Return ``value`` converted to ``tp`` or raise ``ConfigError`` naming ``path``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _check_type(path, a, value)
            except NotFinite:  # the right type, a value no member accepts (NaN, inf): say so
                raise
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{path}: expected {_type_name(tp)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return _build(tp, value, path + ".")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_check_type(f"{path}[{i}]", item, v) for i, v in enumerate(value)]
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value) if abs(value) < 1e308 else math.inf
        elif isinstance(value, str) and _FLOAT.match(value):  # YAML 1.1 reads 3e-4 (no dot) as a string
            number = float(value)
        if number is not None:
            if not math.isfinite(number):
                raise NotFinite(f"{path}: expected a finite float, got {str(value)[:40]}")
            return number
    elif tp is str:
        if isinstance(value, str):
            return value
    raise ConfigError(f"{path}: expected {_type_name(tp)}, got {value!r}")


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _build(cls: type, data: dict, prefix: str = "") -> Any:
    """``cls(**data)`` with every key known, every value of its field's type and range, and the class's
    ``_cross_checks`` (relations between fields) passed; ``ConfigError`` naming the first bad key otherwise."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(f"{prefix}{key}: unknown key (valid: {', '.join(sorted(fields))})")
    values = {}
    for key, raw in data.items():
        values[key] = _check_type(prefix + key, hints[key], raw)
        if "range" in fields[key].metadata:
            check_range(prefix + key, fields[key].metadata["range"], values[key])
    obj = cls(**values)
    for key, problem in getattr(obj, "_cross_checks", lambda: ())():
        raise ConfigError(f"{prefix}{key}: {problem}")
    return obj


def config_from_dict(data: dict, cls: type = ExperimentConfig) -> Any:
    """The typed, checked ``cls`` (an ``ExperimentConfig`` or one of its sections) of a plain mapping, e.g. a
    section that travelled to an RLModule as ``dataclasses.asdict``; ``ConfigError`` naming the first bad key."""
    if cls is ExperimentConfig:
        check_training_format(data)
        check_evaluation_format(data)
    return _build(cls, data)


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item}: expected KEY=VALUE (e.g. training.lr=1e-3)")
    key, raw = item.split("=", 1)
    keys = key.split(".")
    if len(keys) > MAX_DEPTH:
        raise ConfigError(f"--set {key[:60]}...: nested deeper than {MAX_DEPTH} levels")
    try:
        value = _load(raw, f"--set {key}", lines=False) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {key}: cannot parse value {raw!r}: {first_line(e)}") from None
    check_expansion(f"--set {key}", value, level=len(keys) + 1)  # below the mappings of its keys
    return keys, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b=c`` overrides to the raw YAML mapping (types are checked when the config is built)."""
    for item in overrides:
        keys, value = _parse_override(item)
        node = data
        for i, k in enumerate(keys[:-1]):
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {'.'.join(keys)}: {'.'.join(keys[: i + 1])} is not a mapping")
        node[keys[-1]] = value
    return data


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> dict:
    """Safe YAML of ``path`` (a regular file of UTF-8, no duplicate key, bounded nesting and expansion: the module
    docstring); a top-level ``base: other.yaml`` (relative to ``path``) is read first and this file's keys are
    merged over it."""
    text = _read_text(path)
    try:
        data = _load(text, str(path)) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid safe YAML ({first_line(e)})") from None
    check_expansion(str(path), data)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    check_file_format(path, data)
    if "base" in data:
        base = (path.parent / str(data.pop("base"))).resolve()
        if base in _seen:
            raise ConfigError(f"{path}: base: circular reference to {base}")
        data = _merge(read_yaml(base, _seen + (path.resolve(),)), data)
    return data


def load_saved_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """A run directory's resolved ``config.yaml``, then ``overrides``: a problem of the file itself names the
    file (``runs/x/config.yaml: training.lr: ...``), one of an override its key."""
    path = Path(path)
    data = migrate_saved(read_yaml(path))
    try:
        config_from_dict(data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    return config_from_dict(apply_overrides(data, overrides or []))


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read ``path`` (and its ``base:`` chain) as safe YAML, apply ``overrides``, build the typed config."""
    path = Path(path)
    data = apply_overrides(read_yaml(path), overrides or [])
    data.setdefault("name", path.stem)
    return config_from_dict(data)
