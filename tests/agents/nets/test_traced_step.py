"""AlphaStarPolicy.act samples through a jit trace of its rollout pass (agents.nets.traced_step): for the same RNG
state the same actions, logp, dist_inputs, value (and LSTM state) as the eager pass, bitwise, on observations other
than the one the trace was recorded on, and after the weights change in place."""

from __future__ import annotations

import copy

import pytest
import torch

from support.policy import illegal_rows, random_obs, specs, tiny_policy

CONFIGS = {
    "perceiver+queries": ({}, {}),
    "transformer+mlp": (dict(encoder="transformer", heads="mlp"), {}),
    "lstm": (dict(lstm=True), {}),
    "hard scatter, no location mask, 40 entities": (dict(location_sigma=0.0), dict(n=40, location_mask=False)),
}


def _variants(obs_spec, b: int) -> list[dict[str, torch.Tensor]]:
    """Observations of one shape with different masks: random ones (different numbers of real, selectable and
    targetable units per row), all entities legal, rows with no selectable / targetable unit (the action types
    that need one are masked out) and fewer real entities than slots, and a batch without any such unit."""
    full = random_obs(obs_spec, b, seed=21)
    for key in ("entity_mask", "selectable_mask", "targetable_mask", "action_type_mask"):
        full[key] = torch.ones_like(full[key])
    sparse = random_obs(obs_spec, b, seed=22)
    for key in ("entity_mask", "selectable_mask", "targetable_mask"):
        sparse[key][:, -2:] = 0  # two empty slots
    sparse["selectable_mask"][::2] = 0
    sparse["targetable_mask"][1::2] = 0
    sparse["action_type_mask"][:, 0] = 1  # no_op stays legal where the unit-taking types are not
    none = {k: v.clone() for k, v in sparse.items()}
    none["selectable_mask"][:] = 0  # no unit to select or target anywhere in the batch
    none["targetable_mask"][:] = 0
    return [random_obs(obs_spec, b, seed=s) for s in (11, 12)] + [full, sparse, none]


def _assert_act_is_the_eager_pass(policy, obs, state, deterministic: bool, seed: int) -> None:
    torch.manual_seed(seed)
    acted = policy.act(obs, state, deterministic)
    torch.manual_seed(seed)
    with torch.no_grad():
        eager = policy(obs, state=state, deterministic=deterministic)
    for key, a in acted.actions.items():
        assert torch.equal(a, eager.actions[key]), key
    for field in ("logp", "dist_inputs", "value"):
        assert torch.equal(getattr(acted, field), getattr(eager, field)), field
    if state is not None:
        assert all(torch.equal(acted.state[k], eager.state[k]) for k in ("h", "c"))
    assert not illegal_rows(obs, acted.actions, policy.action_spec).any()


@pytest.mark.parametrize("name", CONFIGS)
def test_act_through_its_trace_equals_the_eager_pass(name):
    """Sampled and greedy, from the first call (the one that records), on several observations of one shape (one
    trace per mode serves all of them), and after an in-place weight change (what RLlib's weight sync does)."""
    policy_kw, spec_kw = CONFIGS[name]
    obs_spec, act_spec = specs(**spec_kw)
    torch.manual_seed(3)
    policy = tiny_policy(obs_spec, act_spec, **policy_kw).eval()
    b = 8
    state = policy.initial_state(b)
    if state is not None:
        state = {k: torch.randn_like(v) for k, v in state.items()}
    variants = _variants(obs_spec, b)
    for round_ in range(2):
        for deterministic in (False, True):
            for i, obs in enumerate(variants):
                _assert_act_is_the_eager_pass(policy, obs, state, deterministic, seed=100 * round_ + i)
        assert len(policy._steps._traces) == 2  # recorded once per mode, replayed on every variant
        with torch.no_grad():
            policy.torso.fuse.weight.add_(0.5)
            policy.arguments.select_query[0].bias.sub_(0.3)


def test_a_trace_recorded_on_one_observation_is_right_on_one_with_other_masks():
    """Recorded where every entity is selectable and every action type legal, replayed where few are (and the
    other way round), and recorded on a batch without a selectable unit: no Python branch on mask values (e.g. an
    early exit of the selection loop) was frozen into the trace."""
    obs_spec, act_spec = specs(n=12, m=4)
    *_, full, sparse, none = _variants(obs_spec, 16)
    for first, then in ((full, sparse), (sparse, full), (none, full)):
        torch.manual_seed(4)
        policy = tiny_policy(obs_spec, act_spec).eval()
        policy.act(first)  # records the trace
        for seed in range(3):
            _assert_act_is_the_eager_pass(policy, then, None, False, seed)
        _assert_act_is_the_eager_pass(policy, then, None, True, 0)
        assert len(policy._steps._traces) == 2


def test_traces_are_no_part_of_the_state_dict_and_are_not_copied():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec).eval()
    keys = set(policy.state_dict())
    obs = random_obs(obs_spec, 4, seed=1)
    policy.act(obs)
    assert set(policy.state_dict()) == keys and len(policy._steps._traces) == 1
    clone = copy.deepcopy(policy)  # e.g. APPO's target network
    assert not clone._steps._traces
    torch.manual_seed(0)
    a = policy.act(obs)
    torch.manual_seed(0)
    b = clone.act(obs)
    assert all(torch.equal(a.actions[k], b.actions[k]) for k in a.actions) and torch.equal(a.logp, b.logp)


def test_trace_rollout_false_runs_the_pass_eagerly():
    """``PolicyConfig.trace_rollout=False`` (a custom encoder / head that branches on tensor values): ``act`` records
    nothing and gives the eager pass's numbers."""
    obs_spec, act_spec = specs()
    torch.manual_seed(5)
    policy = tiny_policy(obs_spec, act_spec, trace_rollout=False).eval()
    obs = random_obs(obs_spec, 4, seed=2)
    for deterministic in (False, True):
        _assert_act_is_the_eager_pass(policy, obs, None, deterministic, seed=7)
    assert not policy._steps._traces
