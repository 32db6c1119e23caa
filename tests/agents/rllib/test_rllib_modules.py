"""The RLlib layer: module outputs follow RLlib's contract and PPO's re-scoring is exact."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.target_network_api import TARGET_NETWORK_ACTION_DIST_INPUTS

import envs
from agents.nets.encoders import EntityEncoderConfig
from agents.nets.policy import PolicyConfig
from agents.nets.space_policy import SpacePolicy
from agents.rllib.alphastar_module import AlphaStarRLModule, contract_to_model_config


def _batch(env, n, seed=0):
    obs, _ = env.reset(seed=seed)
    rows = []
    for _ in range(n):
        rows.append(obs)
        obs, *_ = env.step(env.action_space.sample())
    return {k: torch.as_tensor(np.stack([r[k] for r in rows])) for k in rows[0]}


def _policy(**kw) -> dict:
    """A small ``model.policy`` section as the module receives it (a mapping)."""
    small = dict(entity_encoder=EntityEncoderConfig(channels=32, num_layers=1, num_heads=4, head_channels=8, num_latents=16),
                 state_channels=32, head_channels=32)  # fmt: skip
    return dataclasses.asdict(PolicyConfig(**{**small, **kw}))


@pytest.fixture(scope="module")
def sim_env():
    env = gym.make("perceiver_rl/Sim-CollectMineralShards-v0", spatial_size=16)
    yield env
    env.close()


@pytest.mark.parametrize("encoder,heads", [("perceiver", "queries"), ("transformer", "mlp")])
def test_alphastar_module_train_pass_rescores_exploration_actions_exactly(sim_env, encoder, heads):
    mc = {"policy": _policy(encoder=encoder, heads=heads), **contract_to_model_config(**envs.contract_of(sim_env))}
    module = AlphaStarRLModule(
        observation_space=sim_env.observation_space, action_space=sim_env.action_space, model_config=mc
    )
    obs = _batch(sim_env, 6)
    with torch.no_grad():
        explore = module.forward_exploration({Columns.OBS: obs})
        train = module.forward_train({Columns.OBS: obs, Columns.ACTIONS: explore[Columns.ACTIONS]})
    assert set(explore) >= {Columns.ACTIONS, Columns.ACTION_LOGP, Columns.ACTION_DIST_INPUTS}
    dist_cls = module.get_train_action_dist_cls()
    rescored = dist_cls.from_logits(train[Columns.ACTION_DIST_INPUTS]).logp(explore[Columns.ACTIONS])
    torch.testing.assert_close(rescored, explore[Columns.ACTION_LOGP], atol=1e-4, rtol=1e-5)
    entropy = dist_cls.from_logits(train[Columns.ACTION_DIST_INPUTS]).entropy()
    assert torch.isfinite(entropy).all() and (entropy >= -1e-5).all()
    values = module.compute_values({Columns.OBS: obs}, embeddings=train[Columns.EMBEDDINGS])
    torch.testing.assert_close(values, module.compute_values({Columns.OBS: obs}))
    with torch.no_grad():  # the value head on the train pass's torso output: exactly the pass's own value
        out = module.policy(obs, actions=explore[Columns.ACTIONS])
        assert torch.equal(module.compute_values({Columns.OBS: obs}, embeddings=out.torso), out.value)
    greedy = module.forward_inference({Columns.OBS: obs})[Columns.ACTIONS]
    assert torch.equal(
        greedy["action_type"], module.forward_inference({Columns.OBS: obs})[Columns.ACTIONS]["action_type"]
    )


def test_alphastar_module_lstm_state_and_time_axis(sim_env):
    mc = {"policy": _policy(lstm=True), **contract_to_model_config(**envs.contract_of(sim_env))}
    module = AlphaStarRLModule(
        observation_space=sim_env.observation_space, action_space=sim_env.action_space, model_config=mc
    )
    init = module.get_initial_state()
    assert module.is_stateful() and set(init) == {"h", "c"}
    obs = {k: v.reshape(2, 3, *v.shape[1:]) for k, v in _batch(sim_env, 6).items()}  # (B=2, T=3, ...)
    state = {k: torch.as_tensor(v)[None].expand(2, *v.shape) for k, v in init.items()}
    out = module.forward_exploration({Columns.OBS: obs, Columns.STATE_IN: state})
    assert out[Columns.ACTION_LOGP].shape == (2, 3)
    assert out[Columns.STATE_OUT]["h"].shape == state["h"].shape


TOKEN_ENVS = ["perceiver_rl/Tokens-CartPole-v1", "perceiver_rl/Tokens-MiniGrid-DoorKey-5x5-v0"]


def _token_module(observation_space, action_space, **policy) -> AlphaStarRLModule:
    """The one module on a token env: no contract in model_config, the policy from the spaces."""
    return AlphaStarRLModule(
        observation_space=observation_space, action_space=action_space, model_config={"policy": _policy(**policy)}
    )


def _rescores_exactly(module, obs) -> dict:
    """Exploration actions rescored by RLlib's distribution class from the train pass equal their logp; returns
    the exploration output."""
    with torch.no_grad():
        explore = module.forward_exploration({Columns.OBS: obs})
        train = module.forward_train({Columns.OBS: obs, Columns.ACTIONS: explore[Columns.ACTIONS]})
    dist = module.get_train_action_dist_cls().from_logits(train[Columns.ACTION_DIST_INPUTS])
    torch.testing.assert_close(dist.logp(explore[Columns.ACTIONS]), explore[Columns.ACTION_LOGP], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(module.policy.actions.entropy(train[Columns.ACTION_DIST_INPUTS]), dist.entropy())
    values = module.compute_values({Columns.OBS: obs}, embeddings=train[Columns.EMBEDDINGS])
    torch.testing.assert_close(values, module.compute_values({Columns.OBS: obs}))
    with torch.no_grad():  # the value head on the train pass's torso output: exactly the pass's own value
        out = module.policy(obs, actions=explore[Columns.ACTIONS])
        assert torch.equal(module.compute_values({Columns.OBS: obs}, embeddings=out.torso), out.value)
    return explore


@pytest.mark.parametrize("base_id", TOKEN_ENVS)
@pytest.mark.parametrize("encoder,heads", [("perceiver", "queries"), ("transformer", "queries"), ("perceiver", "mlp")])
def test_token_env_module_samples_its_action_space_and_trains_every_weight(base_id, encoder, heads):
    env = gym.make(base_id)
    module = _token_module(env.observation_space, env.action_space, encoder=encoder, heads=heads)
    assert isinstance(module.policy, SpacePolicy) and module.policy.torso.spatial_encoder is None
    obs = _batch(env, 5)
    explore = _rescores_exactly(module, obs)
    assert explore[Columns.ACTIONS].dtype == torch.int64
    assert all(env.action_space.contains(int(a)) for a in explore[Columns.ACTIONS])
    greedy = module.forward_inference({Columns.OBS: obs})[Columns.ACTIONS]
    torch.testing.assert_close(greedy, explore[Columns.ACTION_DIST_INPUTS].argmax(-1))
    actions = explore[Columns.ACTIONS].clone()  # a normal tensor (the rollout path's are inference tensors)
    out = module.forward_train({Columns.OBS: obs, Columns.ACTIONS: actions})
    dist = module.get_train_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    (dist.logp(actions).sum() + module.compute_values({Columns.OBS: obs}).sum()).backward()
    missing = [n for n, p in module.named_parameters() if p.grad is None]
    assert not missing, missing  # the Perceiver's per-entity decoder is not built: the heads do not read it


@pytest.mark.parametrize(
    "action_space,shape,dtype",
    [
        (gym.spaces.MultiDiscrete([3, 2, 4]), (6, 3), torch.int64),
        (gym.spaces.Box(-1.0, 1.0, (2,), np.float32), (6, 2), torch.float32),
    ],
)
def test_token_env_module_with_multidiscrete_and_box_actions(action_space, shape, dtype):
    from envs.spec import TokenSpec

    space = TokenSpec(num_tokens=5, token_features=7).space()
    module = _token_module(space, action_space)
    obs = {"entities": torch.randn(6, 5, 7), "entity_mask": torch.ones(6, 5, dtype=torch.int8)}
    explore = _rescores_exactly(module, obs)
    assert explore[Columns.ACTIONS].shape == shape and explore[Columns.ACTIONS].dtype == dtype
    width = sum(action_space.nvec) if isinstance(action_space, gym.spaces.MultiDiscrete) else 2 * shape[1]
    assert explore[Columns.ACTION_DIST_INPUTS].shape == (6, width)


def test_token_env_module_lstm_target_network_and_errors():
    env = gym.make(TOKEN_ENVS[0])
    module = _token_module(env.observation_space, env.action_space, lstm=True)
    init = module.get_initial_state()
    assert module.is_stateful() and {k: v.shape for k, v in init.items()} == {"h": (1, 32), "c": (1, 32)}
    obs = {k: v.reshape(2, 3, *v.shape[1:]) for k, v in _batch(env, 6).items()}  # (B=2, T=3, ...)
    state = {k: torch.as_tensor(v)[None].expand(2, *v.shape) for k, v in init.items()}
    out = module.forward_exploration({Columns.OBS: obs, Columns.STATE_IN: state})
    assert out[Columns.ACTIONS].shape == (2, 3) and out[Columns.STATE_OUT]["h"].shape == (2, 1, 32)
    batch = {Columns.OBS: obs, Columns.STATE_IN: state, Columns.ACTIONS: out[Columns.ACTIONS].clone()}
    module.make_target_networks()  # APPO
    with torch.no_grad():
        target = module.forward_target(batch)[TARGET_NETWORK_ACTION_DIST_INPUTS]
        torch.testing.assert_close(target, module.forward_train(batch)[Columns.ACTION_DIST_INPUTS])
    for policy, space, message in [
        ({"heads": "nope"}, env.action_space, "^heads: unknown action-space heads 'nope'"),
        ({}, gym.spaces.Box(-1, 1, (2, 2)), "^action space Box.* is not supported"),
    ]:
        with pytest.raises(ValueError, match=message):
            _token_module(env.observation_space, space, **policy)


def test_info_counters_callback_reports_dropped_entities_per_episode():
    from ray.rllib.env.single_agent_episode import SingleAgentEpisode
    from ray.rllib.utils.metrics.metrics_logger import MetricsLogger

    from agents.rllib.callbacks import InfoCounters

    cb, logger = InfoCounters(), MetricsLogger()
    for dropped_per_step in (3, 0):
        ep = SingleAgentEpisode()
        ep.add_env_reset(observation=0, infos={"entities_dropped": dropped_per_step, "illegal_actions": 0})
        for t in range(4):
            ep.add_env_step(
                observation=0, action=0, reward=0.0, infos={"entities_dropped": dropped_per_step, "illegal_actions": t}
            )
            cb.on_episode_step(episode=ep, metrics_logger=logger)
        cb.on_episode_end(episode=ep, metrics_logger=logger)
    assert logger.peek("entities_dropped") == pytest.approx((12 + 0) / 2)
    assert logger.peek("illegal_actions") == pytest.approx(3)


def test_a_heads_name_of_one_kind_passes_the_config_check_and_the_build_checks_the_env_kind():
    """``model.policy.heads`` may name action-space heads only (token envs) or structured heads only (SC2-style
    envs): the config check accepts either, building the module names the key for the other kind of env."""
    from agents.experiment.config import ConfigError
    from agents.experiment.loader import config_from_dict
    from agents.nets.heads import ACTION_SPACE_HEADS, register_space_heads
    from agents.nets.heads.space import SpaceQueryHeads
    from agents.rllib.build import build_module, check_choices, make_env

    register_space_heads("tokens_only")(type("TokensOnly", (SpaceQueryHeads,), {}))
    try:
        for env_id, env_config, fits in [
            (TOKEN_ENVS[0], {}, True),
            ("perceiver_rl/Sim-MoveToBeacon-v0", {"spatial_size": 16}, False),
        ]:
            cfg = config_from_dict(
                {"env": env_id, "env_config": env_config, "model": {"policy": _policy(heads="tokens_only")}}
            )
            check_choices(cfg)
            env = make_env(cfg.env, cfg.env_config)
            try:
                if fits:
                    assert type(build_module(cfg, env).policy.heads).__name__ == "TokensOnly"
                else:
                    with pytest.raises(ConfigError, match="^model.policy.heads: unknown head torso 'tokens_only'"):
                        build_module(cfg, env)
            finally:
                env.close()
    finally:
        ACTION_SPACE_HEADS.pop("tokens_only")


def _same(a, b) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a) if isinstance(a, dict) else torch.equal(a, b)


@pytest.mark.parametrize("kind", ["token", "sim"])
@pytest.mark.parametrize("lstm", [False, True])
def test_runner_copy_samples_through_a_trace_with_the_eager_numbers(sim_env, kind, lstm):
    """An EnvRunner's (inference-only) copy samples through policy.act's trace (agents.nets.traced_step), a token
    env's SpacePolicy and the SC2 AlphaStarPolicy alike: for the same RNG state the same actions, logp,
    dist_inputs (and LSTM state) as the eager pass, sampled and greedy, from the first call (the one that records);
    RLlib's weight sync reaches the trace; the teacher-forced logp of the learner's module equals the rollout's."""
    env = gym.make(TOKEN_ENVS[0]) if kind == "token" else sim_env
    mc = {"policy": _policy(lstm=lstm)}
    if kind == "sim":
        mc.update(contract_to_model_config(**envs.contract_of(sim_env)))
    runner, learner = (AlphaStarRLModule(observation_space=env.observation_space, action_space=env.action_space,
                                         model_config=mc, inference_only=only) for only in (True, False))  # fmt: skip
    assert not runner.training and runner.state_dict().keys() == learner.state_dict().keys()
    runner.set_state(learner.get_state())
    obs = _batch(env, 4)
    batch = {Columns.OBS: obs}
    if lstm:
        obs = {k: v[:, None] for k, v in obs.items()}  # (B, T=1, ...) as RLlib's connectors give a stateful module
        init = learner.get_initial_state()
        batch = {
            Columns.OBS: obs,
            Columns.STATE_IN: {k: torch.as_tensor(v)[None].expand(4, *v.shape) for k, v in init.items()},
        }
    for forward, deterministic in ((runner.forward_exploration, False), (runner.forward_inference, True)):
        for _ in range(3):  # the first call records; the same draws as eager, also after the weights change in place
            torch.manual_seed(5)
            traced = forward(batch)
            torch.manual_seed(5)
            with torch.no_grad():
                eager = learner.policy(obs, state=batch.get(Columns.STATE_IN), deterministic=deterministic)
            for column, value in ((Columns.ACTIONS, eager.actions), (Columns.ACTION_LOGP, eager.logp),
                                  (Columns.ACTION_DIST_INPUTS, eager.dist_inputs)):  # fmt: skip
                assert _same(traced[column], value), column
            if lstm:
                assert _same(traced[Columns.STATE_OUT], eager.state)
            actions = traced[Columns.ACTIONS]
            actions = {k: v.clone() for k, v in actions.items()} if kind == "sim" else actions.clone()  # normal tensors
            forced = learner.forward_train({**batch, Columns.ACTIONS: actions})[Columns.ACTION_DIST_INPUTS]
            logp = learner.get_train_action_dist_cls().from_logits(forced).logp(actions)
            torch.testing.assert_close(logp.detach(), traced[Columns.ACTION_LOGP], atol=1e-5, rtol=1e-5)
            with torch.no_grad():
                learner.policy.torso.fuse.weight.add_(0.5)
            runner.set_state(learner.get_state())
        assert len(runner.policy._steps._traces) == 1 + deterministic  # one trace per mode, reused


@pytest.mark.parametrize("encoder,heads", [("perceiver", "queries"), ("transformer", "mlp")])
def test_advantage_estimation_reads_the_values_the_sampling_pass_computed(sim_env, encoder, heads):
    """The exploration pass returns its value as ``VF_PREDS``; ``compute_values`` without embeddings (GAE on
    sampled episodes) takes those where ``LOSS_MASK`` marks a sampled step and runs the torso only for the rest
    (PPO's appended bootstrap step), so a stale stored value stays what the sampler saw."""
    mc = {"policy": _policy(encoder=encoder, heads=heads), **contract_to_model_config(**envs.contract_of(sim_env))}
    module = AlphaStarRLModule(
        observation_space=sim_env.observation_space, action_space=sim_env.action_space, model_config=mc
    )
    obs = _batch(sim_env, 6, seed=3)
    with torch.no_grad():
        explore = module.forward_exploration({Columns.OBS: obs})
        fresh = module.compute_values({Columns.OBS: obs})
    torch.testing.assert_close(explore[Columns.VF_PREDS], fresh)
    stored = explore[Columns.VF_PREDS] + 100.0  # as if sampled with other weights
    mask = torch.tensor([True, True, False, True, True, False])
    with torch.no_grad():
        values = module.compute_values({Columns.OBS: obs, Columns.VF_PREDS: stored, Columns.LOSS_MASK: mask})
    assert torch.equal(values[mask], stored[mask])
    torch.testing.assert_close(values[~mask], fresh[~mask])
