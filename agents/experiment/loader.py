"""Reading an experiment: YAML (``yaml.safe_load`` only, a ``base:`` chain) and ``--set`` overrides into the typed,
checked :class:`~agents.experiment.config.ExperimentConfig`.

Unknown keys and wrong types are rejected with a :class:`ConfigError` naming the key, e.g.
``model.policy.entity_encoder.num_latents: expected int, got 'abc'``. ``--set a.b=c`` overrides are parsed
with YAML scalar rules and type-checked the same way. Every numeric field's range (floats must be finite) and every
section's ``_cross_checks`` are applied when the config is built, before anything is written. Saved run configs
of older formats are brought up to date first (:mod:`agents.experiment.migrations`).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from ..nets.config_values import ConfigError, NotFinite, check_range
from .config import ExperimentConfig
from .migrations import check_file_format, check_training_format, migrate_saved

_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


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
    return _build(cls, data)


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item}: expected KEY=VALUE (e.g. training.lr=1e-3)")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {key}: cannot parse value {raw!r}: {e}") from None
    return key.split("."), value


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
    """``yaml.safe_load`` of ``path``; a top-level ``base: other.yaml`` (relative to ``path``) is read first
    and this file's keys are merged over it."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0]
        raise ConfigError(f"{path}: not valid safe YAML ({first})") from None
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
    """Read ``path`` (and its ``base:`` chain) with ``yaml.safe_load``, apply ``overrides``, build the typed config."""
    path = Path(path)
    data = apply_overrides(read_yaml(path), overrides or [])
    data.setdefault("name", path.stem)
    return config_from_dict(data)
