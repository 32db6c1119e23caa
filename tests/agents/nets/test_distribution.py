"""Structured action distribution: legality, exact probabilities, teacher forcing, flat round trip."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
import torch

from agents.nets.distribution import MASK_VALUE, ActionLayout, StructuredActionDistribution, choose, mask_logits
from envs.spec import ActionType
from support.policy import illegal_rows, random_obs, specs, tiny_policy


def test_no_illegal_action_in_10k_samples_over_random_masks():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec)
    obs = random_obs(obs_spec, 10_000, seed=1)
    with torch.no_grad():
        out = policy(obs)
    bad = illegal_rows(obs, out.actions, act_spec)
    assert not bad.any(), f"{int(bad.sum())} illegal samples, first row {int(bad.float().argmax())}"
    # The sample exercised every head and the single-legal rows.
    assert set(out.actions["action_type"].tolist()) == set(range(len(act_spec.action_types)))
    assert torch.isfinite(out.logp).all() and (out.logp <= 0).all()


def test_action_types_without_a_legal_argument_are_never_chosen():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec)
    obs = random_obs(obs_spec, 2000, seed=2)
    obs["selectable_mask"].zero_()  # move / attack need a unit: only no_op, cast, scan remain
    obs["action_type_mask"].fill_(1)
    with torch.no_grad():
        out = policy(obs)
    assert not torch.isin(out.actions["action_type"], torch.tensor([1, 2])).any()
    # All action types masked: a finite, deterministic fallback (type 0), never NaN.
    obs["action_type_mask"].zero_()
    with torch.no_grad():
        out = policy(obs)
    assert (out.actions["action_type"] == 0).all() and torch.isfinite(out.logp).all()


ENUM_TYPES = (
    ActionType("no_op"),
    ActionType("pick", selected_units=True, location=True),
    ActionType("hit", queued=True, target_unit=True),
)


def _enumerate(n: int, m: int, locations: list[int], targets: list[int]) -> list[tuple]:
    """Every legal joint action as (action_type, queued, selected tuple, target, location)."""
    eos = n
    out = [(0, 0, (eos,) * m, 0, 0)]
    out += [(2, q, (eos,) * m, t, 0) for q in (0, 1) for t in targets]
    seqs = [(u,) + (eos,) * (m - 1) for u in range(n)] + [p for p in itertools.permutations(range(n), m)]
    out += [(1, 0, s, 0, loc) for s in seqs for loc in locations]
    return out


def test_exp_logp_matches_sampling_frequency_and_sums_to_one():
    n, m = 3, 2
    obs_spec, act_spec = specs(n=n, m=m, size=2, types=ENUM_TYPES)
    torch.manual_seed(3)
    policy = tiny_policy(obs_spec, act_spec)
    one = random_obs(obs_spec, 1, seed=3)
    for key in ("entity_mask", "selectable_mask", "action_type_mask"):
        one[key].fill_(1)
    one["targetable_mask"] = torch.tensor([[1, 1, 0]], dtype=torch.int8)
    one["location_mask"] = torch.tensor([[[1, 1], [1, 0]]], dtype=torch.int8)
    joint = _enumerate(n, m, locations=[0, 1, 2], targets=[0, 1])

    def batch(b):
        return {k: v.expand(b, *v.shape[1:]).clone() for k, v in one.items()}

    cols = list(zip(*joint))
    actions = {
        "action_type": torch.tensor(cols[0]),
        "queued": torch.tensor(cols[1]),
        "selected_units": torch.tensor(cols[2]),
        "target_unit": torch.tensor(cols[3]),
        "location": torch.tensor(cols[4]),
    }
    with torch.no_grad():
        probs = policy(batch(len(joint)), actions=actions).logp.double().exp()
    assert abs(probs.sum().item() - 1.0) < 1e-5

    draws = 40_000
    torch.manual_seed(4)
    with torch.no_grad():
        sampled = policy(batch(draws)).actions
    keys = zip(
        sampled["action_type"].tolist(),
        sampled["queued"].tolist(),
        map(tuple, sampled["selected_units"].tolist()),
        sampled["target_unit"].tolist(),
        sampled["location"].tolist(),
    )
    counts = Counter(keys)
    assert set(counts) <= set(joint), f"sampled outside the legal set: {set(counts) - set(joint)}"
    for action, p in zip(joint, probs.tolist()):
        freq = counts.get(action, 0) / draws
        tol = 5 * (p * (1 - p) / draws) ** 0.5 + 2 / draws
        assert abs(freq - p) <= tol, f"{action}: frequency {freq:.5f} vs exp(logp) {p:.5f}"


@pytest.mark.parametrize("lstm", [False, True])
def test_teacher_forced_logp_equals_logp_at_sampling_and_from_flat(lstm):
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, lstm=lstm)
    obs = random_obs(obs_spec, 64, seed=5)
    with torch.no_grad():
        sampled = policy(obs)
        forced = policy(obs, actions=sampled.actions)
    torch.testing.assert_close(forced.logp, sampled.logp, rtol=0, atol=1e-5)
    torch.testing.assert_close(forced.dist_inputs, sampled.dist_inputs, rtol=0, atol=1e-5)
    dist = policy.distribution(sampled.dist_inputs)
    assert torch.equal(dist.logp(sampled.actions), sampled.logp)
    assert torch.equal(dist.entropy(), sampled.entropy)
    assert torch.isfinite(dist.entropy()).all() and (dist.entropy() >= 0).all()
    assert torch.allclose(dist.kl(dist), torch.zeros(64), atol=1e-6)
    assert sampled.dist_inputs.shape == (64, ActionLayout.from_spec(act_spec).width)
    assert sampled.dist_inputs.min() >= MASK_VALUE and torch.isfinite(sampled.dist_inputs).all()


@pytest.mark.parametrize(
    "n,encoder,heads", [(6, "perceiver", "queries"), (40, "perceiver", "queries"), (40, "transformer", "mlp")]
)
def test_act_is_the_forward_pass_under_inference_mode_and_its_logp_the_teacher_forced_logp(n, encoder, heads):
    """policy.act (the rollout path) draws the same actions as policy(obs) for the same RNG state (sampled and
    greedy), with the same logp, dist_inputs and value; the learner's teacher-forced logp (autograd on)
    equals its logp. At 40 entities the Perceiver's attentions fold their projections (perceiver_rl.attention)."""
    obs_spec, act_spec = specs(n=n)
    torch.manual_seed(8)
    policy = tiny_policy(obs_spec, act_spec, encoder=encoder, heads=heads)
    obs = random_obs(obs_spec, 64, seed=8)
    for deterministic in (False, True):
        torch.manual_seed(9)
        acted = policy.act(obs, deterministic=deterministic)
        torch.manual_seed(9)
        with torch.no_grad():
            reference = policy(obs, deterministic=deterministic)
        for key, a in acted.actions.items():
            assert torch.equal(a, reference.actions[key]), key
        for field in ("logp", "dist_inputs", "value"):
            assert torch.equal(getattr(acted, field), getattr(reference, field)), field
        assert acted.distribution is None and not acted.logp.is_inference()
        forced = policy(obs, actions=acted.actions)
        torch.testing.assert_close(forced.logp.detach(), acted.logp, rtol=0, atol=1e-5)
        torch.testing.assert_close(forced.dist_inputs.detach(), acted.dist_inputs, rtol=0, atol=1e-5)
    assert len(set(acted.actions["action_type"].tolist())) > 1


def test_sampling_draws_what_torch_multinomial_draws_for_the_same_seed():
    logits = torch.randn(64, 513)
    torch.manual_seed(3)
    expected = torch.multinomial(torch.softmax(logits, -1), 1).squeeze(-1)
    torch.manual_seed(3)
    assert torch.equal(choose(logits, None, deterministic=False), expected)


def test_unused_arguments_contribute_exactly_zero():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec)
    obs = random_obs(obs_spec, 256, seed=6)
    with torch.no_grad():
        out = policy(obs)
    dist = StructuredActionDistribution.from_flat(out.dist_inputs, act_spec)
    terms = dist.head_logps(out.actions)
    uses = torch.as_tensor(act_spec.uses_matrix())[out.actions["action_type"]]
    for i, head in enumerate(("queued", "selected_units", "target_unit", "location")):
        assert (terms[head][~uses[:, i]] == 0).all(), head
    # Garbage in unused arguments changes nothing.
    noisy = {k: v.clone() for k, v in out.actions.items()}
    unused_loc = ~uses[:, 3]
    noisy["location"][unused_loc] = 5
    noisy["target_unit"][~uses[:, 2]] = 3
    assert torch.equal(dist.logp(noisy), out.logp)
    assert torch.equal(policy(obs, actions=noisy).logp.detach(), out.logp)


def test_sample_and_deterministic_of_the_flat_distribution():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec)
    obs = random_obs(obs_spec, 512, seed=7)
    with torch.no_grad():
        greedy = policy(obs, deterministic=True)
        again = policy(obs, deterministic=True)
    for k in greedy.actions:
        assert torch.equal(greedy.actions[k], again.actions[k]), k
    dist = StructuredActionDistribution.from_flat(greedy.dist_inputs, act_spec)
    # The argmax of every stored head is the policy's greedy action.
    for k, v in dist.deterministic().items():
        assert torch.equal(v, greedy.actions[k]), k
    drawn = dist.sample()
    assert torch.isfinite(dist.logp(drawn)).all()


def test_batch_4096_without_python_loop_over_rows():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec)
    obs = random_obs(obs_spec, 4096, seed=8)
    out = policy(obs)
    dist = StructuredActionDistribution.from_flat(out.dist_inputs, act_spec)
    loss = -(dist.logp(out.actions) * torch.randn(4096)).mean() - 0.01 * dist.entropy().mean()
    loss.backward()
    assert torch.isfinite(loss)


def test_bad_actions_and_dist_inputs_raise_naming_the_culprit():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec)
    obs = random_obs(obs_spec, 4, seed=9)
    out = policy(obs)
    bad = dict(out.actions, target_unit=torch.full((4,), 99))
    with pytest.raises(ValueError, match="target_unit"):
        policy(obs, actions=bad)
    with pytest.raises(ValueError, match="selected_units"):
        policy(obs, actions=dict(out.actions, selected_units=torch.zeros(4, 1, dtype=torch.long)))
    with pytest.raises(ValueError, match="dist_inputs"):
        StructuredActionDistribution.from_flat(out.dist_inputs[:, :-1], act_spec)


def test_mask_logits_rows_without_a_legal_entry_are_degenerate_and_finite():
    logits = torch.randn(3, 5)
    legal = torch.tensor([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    out = mask_logits(logits, legal, default=2)
    p = torch.softmax(out, -1)
    assert p[0, 0] == 1 and p[1, 2] == 1 and torch.allclose(p[2], torch.softmax(logits[2], -1))
    assert torch.isfinite(out).all()
