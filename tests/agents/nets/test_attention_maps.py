"""What the policy attends to (agents/nets/attention_maps.py) and the recorder behind it (perceiver_rl.attention)."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from gymnasium import spaces

import perceiver_rl.attention as attention
from agents.nets.attention_maps import attention_maps
from agents.nets.space_policy import SpacePolicy
from envs.spec import TokenSpec
from perceiver_rl import MultiHeadAttention, SelfAttentionBlock, record_attention
from support.policy import random_obs, specs, tiny_config, tiny_policy

COMBOS = [(e, h) for e in ("perceiver", "transformer") for h in ("queries", "mlp")]
MOVE, ATTACK = 1, 2  # support.policy.TYPES: move (selected_units, location), attack (selected_units, target_unit)


# ---------------------------------------------------------------------- the recorder
def naive_weights(m: MultiHeadAttention, x_q, x_kv, mask) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d)) from the module's own projections, masked keys -inf, all-masked rows 0."""
    h = m.num_heads
    q_in = m.q_norm(x_q)
    kv_in = q_in if m.self_attention else m.kv_norm(x_kv)
    q, k = m.q_proj(q_in), m.k_proj(kv_in)
    b, o, c = q.shape
    q, k = q.view(b, o, h, c // h), k.view(b, k.shape[1], h, c // h)
    logits = torch.einsum("bohd,bmhd->bhom", q, k) / math.sqrt(c // h)
    logits = logits.masked_fill(~mask[:, None, None, :], float("-inf"))
    w = torch.softmax(logits, -1)
    return torch.where(mask.any(1)[:, None, None, None], w, 0.0)


@pytest.mark.parametrize(
    "o,m,form", [(7, 11, attention.STANDARD), (2, 300, attention.ABSORB_KEYS), (300, 2, attention.ABSORB_QUERIES)]
)
def test_recorded_weights_are_the_naive_softmax_in_every_form(o, m, form):
    mha = MultiHeadAttention(q_channels=32, kv_channels=20, num_heads=4, qk_channels=32, v_channels=16)
    assert mha.form(o, m) == form
    x_q, x_kv = torch.randn(3, o, 32), torch.randn(3, m, 20)
    mask = torch.rand(3, m) > 0.4
    mask[0, 0], mask[1] = True, False  # batch row 1: every key masked
    with torch.no_grad():
        with record_attention() as rec:
            out = mha(x_q, x_kv, mask)
        (w,) = rec.of(mha)
        torch.testing.assert_close(w, naive_weights(mha, x_q, x_kv, mask), atol=1e-5, rtol=1e-5)
        assert torch.equal(out, mha(x_q, x_kv, mask))  # recording leaves the output bitwise the same
    assert w.shape == (3, 4, o, m) and w.dtype == torch.float32
    assert torch.equal(w.masked_fill(mask[:, None, None, :], 0.0), torch.zeros_like(w))  # masked keys exactly 0
    assert torch.equal(w[1], torch.zeros_like(w[1]))
    torch.testing.assert_close(w[[0, 2]].sum(-1), torch.ones(2, 4, o))


def test_self_attention_block_records_its_weights_with_a_mask():
    block = SelfAttentionBlock(channels=16, num_heads=2)
    x, mask = torch.randn(2, 5, 16), torch.tensor([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    with torch.no_grad(), record_attention() as rec:
        block(x, mask)
    w = rec.last(block.attention)
    assert w is not None and w.shape == (2, 2, 5, 5)
    x0 = attention.zero_masked(x, mask)  # what the block attends over
    torch.testing.assert_close(w, naive_weights(block.attention, x0, x0, mask), atol=1e-5, rtol=1e-5)


def test_nothing_is_computed_or_recorded_outside_the_context(monkeypatch):
    calls = []
    original = attention._attention_weights

    def counting(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(attention, "_attention_weights", counting)
    mha = MultiHeadAttention(q_channels=8, kv_channels=8, num_heads=2)
    x = torch.randn(1, 3, 8)
    mha(x, x)
    assert not calls and not hasattr(attention._ACTIVE, "recorders")
    with record_attention() as outer:
        with record_attention() as inner:
            mha(x, x)
        mha(x, x)
    assert len(calls) == 2 and len(outer.records) == 2 and len(inner.records) == 1
    assert outer.records[0].module is mha and inner.last(mha) is outer.of(mha)[0]
    mha(x, x)
    assert len(calls) == 2 and len(outer.records) == 2 and not hasattr(attention._ACTIVE, "recorders")
    with record_attention() as rec, warnings.catch_warnings():  # a trace being recorded records nothing (its
        warnings.simplefilter("ignore")  # replay runs no Python); torch warns that jit.trace is deprecated
        torch.jit.trace(mha, (x, x), check_trace=False)
    assert not rec.records and len(calls) == 2


# ---------------------------------------------------------------------- structured policies
def one_observation(seed: int = 0) -> dict[str, np.ndarray]:
    """One observation as an env returns it (no batch axis): 5 entity slots of 6, slots 1 and 4 empty."""
    obs_spec, _ = specs()
    obs = {k: v[0].numpy() for k, v in random_obs(obs_spec, 1, seed=seed, n=5).items()}
    obs["entity_mask"] = np.array([1, 0, 1, 1, 0], dtype=np.int8)
    obs["selectable_mask"] = np.array([1, 0, 1, 0, 0], dtype=np.int8)
    obs["targetable_mask"] = np.array([0, 0, 1, 1, 0], dtype=np.int8)
    obs["entities"][[1, 4]] = np.float32(1e30)  # what a padded slot holds does not matter
    obs["action_type_mask"][:] = 1
    return obs


def check_distribution(x: np.ndarray, valid: np.ndarray | None = None) -> None:
    assert np.isfinite(x).all() and (x >= 0).all()
    assert abs(float(x.sum(dtype=np.float64)) - 1.0) < 1e-5
    if valid is not None:
        assert (x[~valid] == 0).all()


PADDED = np.array([True, False, True, True, False, False])  # slot 5: padded by the policy


@pytest.mark.parametrize("encoder,heads", COMBOS)
@pytest.mark.parametrize("action_type", [None, MOVE, ATTACK])
def test_maps_have_their_shapes_sum_to_one_and_leave_padded_slots_at_zero(encoder, heads, action_type):
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, encoder=encoder, heads=heads, lstm=True)
    obs, n, m = one_observation(), obs_spec.max_entities, act_spec.max_selected
    actions = None
    if action_type is not None:  # teacher-forced: every argument the type uses is a real choice
        actions = {"action_type": action_type, "queued": 1, "selected_units": np.array([2, 0, n]),
                   "target_unit": 3, "location": 5}  # fmt: skip
    maps = attention_maps(policy, obs, policy.initial_state(1), actions)

    assert maps.entity_mask.dtype == bool and (maps.entity_mask == PADDED).all()
    assert maps.entities is not None and maps.entities.shape == (n,)
    check_distribution(maps.entities, PADDED)
    if heads == "mlp":
        assert maps.heads == maps.keys == maps.head_entities == {}
    else:
        assert (
            set(maps.heads)
            == set(maps.keys)
            == set(maps.head_entities)
            == {"action_type", "value", "queued", "location"}
        )
        memory = 4 if encoder == "perceiver" else n  # tiny_config: 4 latents
        for head, w in maps.heads.items():
            assert w.shape == (memory + 1,) and maps.keys[head] == ("latents" if encoder == "perceiver" else "entities")
            check_distribution(w, None if encoder == "perceiver" else np.append(PADDED, True))
            assert maps.head_entities[head].shape == (n,)
            check_distribution(maps.head_entities[head], PADDED)
    check_distribution(maps.action_type)
    assert maps.action_type.shape == (act_spec.num_action_types,)
    if action_type is not None:
        assert maps.actions["action_type"] == action_type and (maps.actions["selected_units"] == [2, 0, n]).all()
        expected = {"selected_units", "target_unit"} if action_type == ATTACK else {"selected_units"}
        assert set(maps.pointer) == expected
        assert (maps.location is not None) == (action_type == MOVE)
    for head, p in maps.pointer.items():
        assert p.shape == (n,)
        legal = one_observation()[{"selected_units": "selectable_mask", "target_unit": "targetable_mask"}[head]]
        check_distribution(p, np.append(legal, 0).astype(bool))
    if maps.selection is not None:
        assert maps.selection.shape == (m, n + 1)
        for row in maps.selection:
            check_distribution(row)
        np.testing.assert_allclose(maps.selection[0, :n], maps.pointer["selected_units"], atol=1e-6)
    if maps.location is not None:
        assert maps.location.shape == obs_spec.spatial_size
        check_distribution(maps.location, one_observation()["location_mask"].astype(bool))
    assert maps.state is not None and maps.state["h"].shape == (1, 16)


@pytest.mark.parametrize("encoder,heads", COMBOS)
def test_recording_leaves_the_policy_outputs_bitwise_identical(encoder, heads):
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, encoder=encoder, heads=heads)
    obs = random_obs(obs_spec, 5, seed=7)
    with torch.no_grad():
        plain = policy(obs, deterministic=True)
        with record_attention() as rec:
            recorded = policy(obs, deterministic=True)
        teacher = policy(obs, actions=plain.actions)
        with record_attention():
            teacher_recorded = policy(obs, actions=plain.actions)
    assert rec.records
    for a, b in ((plain, recorded), (teacher, teacher_recorded)):
        for name in ("logp", "dist_inputs", "value"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name
        assert all(torch.equal(a.actions[k], b.actions[k]) for k in a.actions)


def test_the_module_or_a_batch_of_one_give_the_same_maps_and_the_state_carries():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, lstm=True)
    obs = one_observation()
    state = {k: v[0].numpy() for k, v in policy.initial_state(1).items()}  # as module.get_initial_state() gives it
    direct = attention_maps(policy, obs, state)
    via_module = attention_maps(SimpleNamespace(policy=policy), {k: v[None] for k, v in obs.items()}, state)
    assert direct.entities is not None and via_module.entities is not None
    assert np.array_equal(direct.entities, via_module.entities) and direct.heads.keys() == via_module.heads.keys()
    assert all(np.array_equal(direct.heads[k], via_module.heads[k]) for k in direct.heads)
    assert direct.state is not None
    later = attention_maps(policy, obs, direct.state)  # the next step starts from the state after this one
    assert later.state is not None and not np.array_equal(later.state["h"], direct.state["h"])
    with pytest.raises(ValueError, match="one observation"):
        attention_maps(policy, {k: np.stack([v, v]) for k, v in obs.items()})
    with pytest.raises(TypeError, match="AlphaStarPolicy"):
        attention_maps(object(), obs)


@pytest.mark.parametrize("encoder", ["perceiver", "transformer"])
def test_no_entities_give_zero_maps_and_no_pointer(encoder):
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, encoder=encoder)
    obs = {k: v[0].numpy() for k, v in random_obs(obs_spec, 1, seed=3, n=0).items()}
    maps = attention_maps(policy, obs)
    assert maps.entities is not None and not maps.entities.any() and not maps.entity_mask.any()
    assert maps.pointer == {} and maps.selection is None
    for head, w in maps.heads.items():  # the latents remain; with the entities as keys, the state token alone
        check_distribution(w)
        assert not maps.head_entities[head].any()
        if encoder == "transformer":
            assert w[-1] == pytest.approx(1.0)


def test_an_encoder_without_attention_has_no_entity_map():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, encoder="transformer", entity_encoder=tiny_config().entity_encoder)
    policy.torso.entity_encoder.layers = torch.nn.ModuleList()  # a transformer of 0 layers: embedding + mean
    maps = attention_maps(policy, one_observation())
    assert maps.entities is None and set(maps.heads) == {"action_type", "value", "queued", "location"}


# ---------------------------------------------------------------------- token env policies
@pytest.mark.parametrize("encoder,heads", COMBOS)
def test_token_env_policy_maps(encoder, heads):
    policy = SpacePolicy(
        TokenSpec(num_tokens=5, token_features=3),
        spaces.MultiDiscrete([3, 2]),
        tiny_config(encoder=encoder, heads=heads),
    )
    mask = np.array([1, 1, 0, 1, 0], dtype=np.int8)
    obs = {"entities": np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32), "entity_mask": mask}
    maps = attention_maps(policy, obs, actions=np.array([2, 1]))
    assert maps.entities is not None and maps.entities.shape == (5,)
    check_distribution(maps.entities, mask.astype(bool))
    assert maps.pointer == {} and maps.location is None and maps.action_type is None
    assert (maps.actions == [2, 1]).all() and maps.state is None
    if heads == "mlp":
        assert maps.heads == {}
        return
    assert set(maps.heads) == {"action_0", "action_1", "value"}
    for head, w in maps.heads.items():
        assert w.shape == ((4 if encoder == "perceiver" else 5) + 1,)
        check_distribution(w, None if encoder == "perceiver" else np.append(mask, 1).astype(bool))
        check_distribution(maps.head_entities[head], mask.astype(bool))
