"""AlphaStarPolicy: gradients, encoder swap, degenerate inputs, clear errors, LSTM sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.nets.distribution import StructuredActionDistribution
from agents.nets.observation import stack_observations
from agents.nets.policy import AlphaStarPolicy
from support.policy import TYPES, random_obs, specs, tiny_config, tiny_policy

COMBOS = [(e, h) for e in ("perceiver", "transformer") for h in ("queries", "mlp")]


@pytest.mark.parametrize("encoder,heads", COMBOS)
def test_gradients_reach_every_parameter(encoder, heads):
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, encoder=encoder, heads=heads, lstm=True)
    obs = random_obs(obs_spec, 256, seed=1)
    with torch.no_grad():
        actions = policy(obs).actions
    state = {k: torch.randn_like(v) for k, v in policy.initial_state(256).items()}  # h=0 would starve W_hh
    out = policy(obs, actions=actions, state=state)
    loss = -(out.logp * torch.randn(256)).mean() + out.value.pow(2).mean() - 0.01 * out.entropy.mean()
    loss.backward()
    dead = [n for n, p in policy.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead, f"no gradient reaches {dead}"


@pytest.mark.parametrize("heads", ["queries", "mlp"])
def test_swapping_the_encoder_by_name_changes_nothing_else(heads):
    obs_spec, act_spec = specs()
    a = tiny_policy(obs_spec, act_spec, encoder="perceiver", heads=heads)
    b = tiny_policy(obs_spec, act_spec, encoder="transformer", heads=heads)
    prefix = "torso.entity_encoder."

    def rest(policy):
        return {k: tuple(v.shape) for k, v in policy.state_dict().items() if not k.startswith(prefix)}

    assert rest(a) == rest(b)
    assert type(a.heads) is type(b.heads) and type(a.torso.entity_encoder) is not type(b.torso.entity_encoder)
    obs = random_obs(obs_spec, 8, seed=2)
    oa, ob = a(obs), b(obs)
    assert oa.dist_inputs.shape == ob.dist_inputs.shape
    assert {k: v.shape for k, v in oa.actions.items()} == {k: v.shape for k, v in ob.actions.items()}
    # Loading the non-encoder weights of one into the other is possible key for key.
    b.load_state_dict({k: v for k, v in a.state_dict().items() if not k.startswith(prefix)}, strict=False)


@pytest.mark.parametrize("encoder,heads", COMBOS)
def test_zero_entities_and_all_masked_rows_give_finite_outputs(encoder, heads):
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, encoder=encoder, heads=heads)
    obs = random_obs(obs_spec, 4, seed=3, n=0)  # no entity slots at all: padded to max_entities
    obs["action_type_mask"][1:] = 0  # rows with every action type masked
    obs["location_mask"][2:] = 0
    out = policy(obs)
    for name in ("logp", "value", "dist_inputs", "entropy"):
        assert torch.isfinite(getattr(out, name)).all(), name
    assert (out.actions["selected_units"] == obs_spec.max_entities).all()  # nothing selectable
    out.logp.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in policy.parameters() if p.grad is not None)


def test_too_many_entities_and_bad_fields_raise_naming_the_field():
    obs_spec, act_spec = specs(n=6)
    policy = tiny_policy(obs_spec, act_spec)
    obs = random_obs(obs_spec, 2, seed=4, n=7)
    with pytest.raises(ValueError, match="'entities': 7 entities exceed max_entities=6"):
        policy(obs)
    obs = random_obs(obs_spec, 2, seed=4)
    with pytest.raises(ValueError, match="'scalars'"):
        policy(dict(obs, scalars=torch.zeros(2, 9)))
    with pytest.raises(ValueError, match="'targetable_mask'"):
        policy(dict(obs, targetable_mask=torch.ones(2, 5)))
    with pytest.raises(ValueError, match="'location_mask' is missing"):
        policy({k: v for k, v in obs.items() if k != "location_mask"})
    with pytest.raises(ValueError, match="state"):
        policy(obs, state={"h": torch.zeros(2, 1, 16), "c": torch.zeros(2, 1, 16)})
    other_obs, _ = specs(n=5)
    with pytest.raises(ValueError, match="max_entities"):
        AlphaStarPolicy(other_obs, act_spec, tiny_config())
    with pytest.raises(ValueError, match="heads: unknown head torso 'x'"):
        tiny_policy(obs_spec, act_spec, heads="x")


def test_numpy_int8_env_observations_are_accepted():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec)
    batch = random_obs(obs_spec, 3, seed=5)
    per_env = [{k: v[i].numpy() for k, v in batch.items()} for i in range(3)]
    stacked = stack_observations(per_env)
    assert stacked["entity_mask"].dtype == np.int8
    with torch.no_grad():
        a = policy(stacked, deterministic=True)
        b = policy(batch, deterministic=True)
    assert torch.equal(a.logp, b.logp)


def test_lstm_sequence_equals_step_by_step():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, lstm=True)
    b, t = 3, 4
    flat = random_obs(obs_spec, b * t, seed=6)
    seq = {k: v.reshape(b, t, *v.shape[1:]) for k, v in flat.items()}
    with torch.no_grad():
        state = policy.initial_state(b)
        steps = []
        for i in range(t):
            out = policy({k: v[:, i] for k, v in seq.items()}, state=state)
            steps.append(out)
            state = out.state
        actions = {k: torch.stack([s.actions[k] for s in steps], 1) for k in steps[0].actions}
        whole = policy(seq, actions=actions, state=policy.initial_state(b))
    assert whole.logp.shape == (b, t) and whole.dist_inputs.shape[:2] == (b, t)
    torch.testing.assert_close(whole.logp, torch.stack([s.logp for s in steps], 1), atol=1e-5, rtol=0)
    torch.testing.assert_close(whole.value, torch.stack([s.value for s in steps], 1), atol=1e-5, rtol=0)
    torch.testing.assert_close(whole.state["h"], state["h"], atol=1e-5, rtol=0)


def test_distribution_from_flat_with_a_time_dimension():
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, lstm=True)
    flat = random_obs(obs_spec, 6, seed=7)
    seq = {k: v.reshape(2, 3, *v.shape[1:]) for k, v in flat.items()}
    with torch.no_grad():
        out = policy(seq)
    dist = StructuredActionDistribution.from_flat(out.dist_inputs, act_spec)  # (B, T, L)
    assert torch.equal(dist.logp(out.actions), out.logp) and dist.entropy().shape == (2, 3)
    assert dist.kl(dist).shape == (2, 3) and dist.sample()["selected_units"].shape == (2, 3, act_spec.max_selected)
    with pytest.raises(ValueError, match="actions\\['location'\\]: expected shape \\(2, 3\\)"):
        dist.logp(dict(out.actions, location=out.actions["location"].reshape(6)))


def test_location_head_can_point_at_the_cell_an_entity_stands_in():
    """The scatter connection: a cell inherits the pointer score of the entities standing in it, so raising
    one entity's key raises exactly its cell's location logit (the module docstring of agents.nets.heads.arguments)."""
    obs_spec, act_spec = specs(n=6, size=8)
    policy = tiny_policy(obs_spec, act_spec, location_sigma=0.0)
    obs = random_obs(obs_spec, 1, seed=3)
    obs["entities"][0, :, :2] = torch.tensor([[1, 2], [5, 6], [7, 0], [3, 3], [4, 1], [0, 7]]) / 8
    obs["entity_mask"][:] = 1
    flat = {k: v for k, v in obs.items()}
    cells = policy.torso.positions.cell_index(policy.torso.entity_xy(flat["entities"]))
    assert cells.tolist() == [[2 * 8 + 1, 6 * 8 + 5, 0 * 8 + 7, 3 * 8 + 3, 1 * 8 + 4, 7 * 8 + 0]]
    # identical features for an entity and the location query of its cell
    torch.testing.assert_close(
        policy.torso.positions.entities(flat["entities"][..., :2])[0], policy.torso.positions.cells()[cells[0]]
    )
    from agents.nets.heads.base import ArgumentFeatures

    c = policy.config.head_channels
    feats = ArgumentFeatures(
        torch.zeros(1, c),
        torch.zeros(1, 6, c),
        torch.zeros(1, policy.arguments.map_size[0] * policy.arguments.map_size[1], c),
    )
    ar = torch.randn(1, c)
    base = policy.arguments._location(feats, ar, torch.ones(1, 6), cells)
    q = policy.arguments.location_query(ar)
    feats.entity_keys[0, 1] = q[0] * 10  # entity 1 now scores high under the location query
    moved = policy.arguments._location(feats, ar, torch.ones(1, 6), cells)
    diff = (moved - base)[0]
    assert diff.argmax().item() == cells[0, 1].item() and (diff.abs() > 1e-6).sum().item() == 1


def test_soft_scatter_peaks_at_the_entity_cell_and_spreads_to_its_neighbours():
    obs_spec, act_spec = specs(n=2, size=8)
    heads = tiny_policy(obs_spec, act_spec, location_sigma=1.0).arguments
    cells = torch.tensor([[3 * 8 + 4, 0]])  # entity 0 at (x=4, y=3)
    out = heads._scatter(torch.tensor([[2.0, 0.0]]), cells).view(8, 8)
    assert out[3, 4] == 2.0 and out.argmax().item() == 3 * 8 + 4
    torch.testing.assert_close(out[3, 5], 2.0 * torch.exp(torch.tensor(-0.5)))
    torch.testing.assert_close(out[2, 5], 2.0 * torch.exp(torch.tensor(-1.0)))


@pytest.mark.parametrize("heads", ["queries", "mlp"])
def test_value_alone_equals_the_full_forward_value(heads):
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec, heads=heads)
    obs = random_obs(obs_spec, 5, seed=1)
    torch.testing.assert_close(policy.value(obs), policy(obs).value)


def test_the_value_pass_skips_the_perceiver_decoder():
    """Advantage estimation reads the value alone: the Perceiver's per-entity decoder (half the pass at 48
    entities) does not run, and the value is the full forward's."""
    obs_spec, act_spec = specs()
    policy = tiny_policy(obs_spec, act_spec)
    calls = []
    policy.torso.entity_encoder.decoder.register_forward_hook(lambda *_: calls.append(1))
    obs = random_obs(obs_spec, 5, seed=2)
    value = policy.value(obs)
    assert calls == []
    torch.testing.assert_close(value, policy(obs).value)
    assert calls == [1]


def test_planes_pooled_by_the_env_give_the_numbers_of_planes_pooled_by_the_policy():
    """``ObservationSpec.plane_pool``: the env sends the planes average-pooled; a policy with the same weights and
    ``spatial_pool`` gives the same outputs as on the full planes, and a pool it cannot continue is refused."""
    import dataclasses

    obs_spec, act_spec = specs(size=8)
    pooled_spec = dataclasses.replace(obs_spec, plane_pool=2)
    torch.manual_seed(0)
    full = tiny_policy(obs_spec, act_spec, spatial_pool=2)
    pooled = AlphaStarPolicy(pooled_spec, act_spec, tiny_config(spatial_pool=2))
    pooled.load_state_dict(full.state_dict())
    obs = random_obs(obs_spec, 6, seed=3)
    small = {**obs, "spatial": torch.nn.functional.avg_pool2d(obs["spatial"], 2)}
    assert pooled_spec.space()["spatial"].shape == (obs_spec.spatial_channels, 4, 4)
    actions = full(obs).actions
    a, b = full(obs, actions=actions), pooled(small, actions=actions)
    for name in ("logp", "value", "dist_inputs"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name))
    with pytest.raises(ValueError, match="observation field 'spatial': expected trailing shape"):
        pooled(obs)
    with pytest.raises(ValueError, match="spatial_pool: 1 is not a multiple of the env's plane_pool 2"):
        AlphaStarPolicy(pooled_spec, act_spec, tiny_config(spatial_pool=1))


def test_selected_units_do_not_scatter_onto_the_location_grid(monkeypatch):
    """A point order's own units are no target: the location head's scatter leaves out the units the action
    selected (and only those)."""
    obs_spec, act_spec = specs(n=3, size=8, types=TYPES[:2])
    policy = tiny_policy(obs_spec, act_spec)
    obs = random_obs(obs_spec, 2, seed=5)
    obs["entity_mask"][:] = 1
    obs["selectable_mask"][:] = 1
    obs["action_type_mask"][:] = 1
    actions = {"action_type": torch.tensor([1, 0]), "queued": torch.tensor([0, 0]),
               "selected_units": torch.tensor([[0, 2, 3], [3, 3, 3]]), "target_unit": torch.tensor([0, 0]),
               "location": torch.tensor([5, 0])}  # fmt: skip
    seen = []
    original = policy.arguments._location
    monkeypatch.setattr(
        policy.arguments, "_location", lambda f, ar, mask, cells: seen.append(mask) or original(f, ar, mask, cells)
    )
    policy(obs, actions=actions)
    assert seen[0].tolist() == [[False, True, False], [True, True, True]]
