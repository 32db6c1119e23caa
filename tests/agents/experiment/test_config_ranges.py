"""Every numeric config field has a valid range, checked when the config is built, naming the key."""

from __future__ import annotations

import dataclasses
import math
import re
import typing

import pytest

from agents.experiment.config import ConfigError, ExperimentConfig
from agents.experiment.loader import config_from_dict
from agents.nets.config_values import Range

ANY_FINITE = {"stop.mean_return"}
"""Numeric fields where every finite number makes sense."""


def _numeric_fields(cls: type = ExperimentConfig, prefix: str = ""):
    """``(dotted key, field, type)`` of every field whose type involves int or float."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from _numeric_fields(tp, f"{prefix}{f.name}.")
        elif {int, float} & _leaves(tp):
            yield prefix + f.name, f, tp


def _leaves(tp) -> set:
    args = typing.get_args(tp)
    return set().union(*map(_leaves, args)) if args else {tp}


def _nested(key: str, value) -> dict:
    *sections, name = key.split(".")
    data = {name: value}
    for section in reversed(sections):
        data = {section: data}
    return data


NUMERIC = list(_numeric_fields())
RANGED = [(key, f.metadata["range"], tp) for key, f, tp in NUMERIC if "range" in f.metadata]


def test_every_numeric_field_has_a_range():
    missing = [key for key, f, _ in NUMERIC if "range" not in f.metadata and key not in ANY_FINITE]
    assert not missing, f"numeric config fields without a valid range: {missing}"


def _outside(r: Range) -> list[float]:
    """Values just outside ``r`` (one per bound)."""
    out = []
    if r.gt is not None or r.ge is not None:
        out.append(r.gt if r.gt is not None else r.ge - 1)
    if r.lt is not None or r.le is not None:
        out.append(r.lt if r.lt is not None else r.le + 1)
    return out


def _inside(r: Range) -> float:
    if r.ge is not None:
        return r.ge
    return r.gt + 1 if r.le is None or r.gt + 1 <= r.le else (r.gt + r.le) / 2


def _typed(value: float, tp) -> object:
    """``value`` as the field wants it: a float, a one-item list of int, or an int."""
    if float in _leaves(tp):
        return float(value)
    if typing.get_origin(tp) is list or any(typing.get_origin(a) is list for a in typing.get_args(tp)):
        return [int(value)]
    return int(value)


@pytest.mark.parametrize("key,rng,tp", RANGED, ids=[k for k, *_ in RANGED])
def test_values_outside_the_range_name_the_key(key, rng, tp):
    for value in _outside(rng):
        with pytest.raises(ConfigError, match=rf"^{re.escape(key)}(\[0\])?: expected {re.escape(rng.describe())}, got"):
            config_from_dict(_nested(key, _typed(value, tp)))


ENCODER = "model.policy.entity_encoder."
"""The entity encoders' section: its bounds and the relations between them are tested with the encoders."""
NO_RESTARTS = {"env_runners.restart_failed_sub_environments": False, "env_runners.restart_failed_env_runners": False}
COMPANIONS = {
    "training.train_batch_size_per_learner": {"training.minibatch_size": 1},
    "training.minibatch_size": {"training.train_batch_size_per_learner": 10**7},
    "faults.crash_at_step": NO_RESTARTS,  # a crash at every env's first step only fails a run that does not retry
    "faults.crash_prob": NO_RESTARTS,
}
"""Fields set beside a boundary value so that the relations between fields hold."""


def _with_companions(key: str, value) -> dict:
    data = _nested(key, value)
    for other, companion in COMPANIONS.get(key, {}).items():
        *sections, name = other.split(".")
        node = data
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = companion
    return data


@pytest.mark.parametrize("key,rng,tp", RANGED, ids=[k for k, *_ in RANGED])
def test_the_boundary_inside_the_range_is_accepted(key, rng, tp):
    config_from_dict(_with_companions(key, _typed(_inside(rng), tp)))


UPPER = [(key, rng, tp) for key, rng, tp in RANGED if rng.le is not None and not key.startswith(ENCODER)]


@pytest.mark.parametrize("key,rng,tp", UPPER, ids=[k for k, *_ in UPPER])
def test_the_upper_bound_is_accepted(key, rng, tp):
    config_from_dict(_with_companions(key, _typed(rng.le, tp)))


def test_every_count_has_an_upper_bound():
    """Every int field (a size or a count) is bounded above, so that a typo cannot allocate until killed."""
    unbounded = [key for key, rng, tp in RANGED if int in _leaves(tp) and rng.le is None and rng.lt is None]
    assert not [key for key in unbounded if not key.startswith(ENCODER)], unbounded


FLOATS = [key for key, _, tp in NUMERIC if float in _leaves(tp)]


@pytest.mark.parametrize("key", FLOATS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "1e999"])
def test_no_float_field_takes_nan_or_inf(key, value):
    with pytest.raises(ConfigError, match=rf"^{re.escape(key)}: expected a finite float"):
        config_from_dict(_nested(key, value))


@pytest.mark.parametrize(
    "data,culprit",
    [
        ({"training": {"minibatch_size": 4001, "train_batch_size_per_learner": 4000}},
         "training.minibatch_size: expected <= training.train_batch_size_per_learner (4000), got 4001"),
        ({"model": {"policy": {"spatial_channels": []}}}, "model.policy.spatial_channels: expected a non-empty list"),
        ({"ppo": {"entropy_coeff": []}}, "ppo.entropy_coeff: expected a number or a schedule"),
        ({"ppo": {"entropy_coeff": [[100, 0.1]]}}, "ppo.entropy_coeff[0]: expected the schedule to start at env step 0"),
        ({"ppo": {"entropy_coeff": [[0, 0.1], [10, 0.0], [10, 0.2]]}}, "ppo.entropy_coeff[2]: expected an env step > 10"),
        ({"ppo": {"entropy_coeff": [[0, 0.1, 2]]}}, "ppo.entropy_coeff[0]: expected a pair [env_step, value]"),
        ({"ppo": {"entropy_coeff": [[0, 0.1], [10, -0.1]]}}, "ppo.entropy_coeff[1][1]: expected >= 0"),
        ({"ppo": {"entropy_coeff": [[-5, 0.1]]}}, "ppo.entropy_coeff[0][0]: expected >= 0"),
        ({"env_runners": {"rollout_fragment_length": "often"}}, "env_runners.rollout_fragment_length: expected 'auto' or an int >= 1"),
        ({"algorithm": "APPO"}, "env_runners.rollout_fragment_length: expected an int >= 1 with algorithm APPO"),
        ({"env_runners": {"overlap": True}}, "env_runners.overlap: needs env_runners.num_env_runners >= 1"),

        ({"name": "../../etc"}, "name: expected a plain file name"),
        ({"name": ".."}, "name: expected a plain file name"),
        ({"runs_dir": " "}, "runs_dir: expected a non-empty string"),
        ({"env": ""}, "env: expected a non-empty string"),
    ],
)  # fmt: skip
def test_relations_between_fields(data, culprit):
    with pytest.raises(ConfigError) as err:
        config_from_dict(data)
    assert str(err.value).startswith(culprit), str(err.value)


def test_a_schedule_that_is_well_formed_is_kept():
    cfg = config_from_dict({"ppo": {"entropy_coeff": [[0, 0.02], [100000, 0.002]]}})
    assert cfg.ppo.entropy_coeff == [[0.0, 0.02], [100000.0, 0.002]]
