"""The RLlib layer: module outputs follow RLlib's contract and PPO's re-scoring is exact."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

import envs
from agents.encoders import EntityEncoderConfig
from agents.policy import PolicyConfig
from agents.rllib.alphastar_module import AlphaStarRLModule, contract_to_model_config
from agents.rllib.token_module import PerceiverRLModule


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
    module = AlphaStarRLModule(observation_space=sim_env.observation_space, action_space=sim_env.action_space, model_config=mc)
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
    greedy = module.forward_inference({Columns.OBS: obs})[Columns.ACTIONS]
    assert torch.equal(greedy["action_type"], module.forward_inference({Columns.OBS: obs})[Columns.ACTIONS]["action_type"])


def test_alphastar_module_lstm_state_and_time_axis(sim_env):
    mc = {"policy": _policy(lstm=True), **contract_to_model_config(**envs.contract_of(sim_env))}
    module = AlphaStarRLModule(observation_space=sim_env.observation_space, action_space=sim_env.action_space, model_config=mc)
    init = module.get_initial_state()
    assert module.is_stateful() and set(init) == {"h", "c"}
    obs = {k: v.reshape(2, 3, *v.shape[1:]) for k, v in _batch(sim_env, 6).items()}  # (B=2, T=3, ...)
    state = {k: torch.as_tensor(v)[None].expand(2, *v.shape) for k, v in init.items()}
    out = module.forward_exploration({Columns.OBS: obs, Columns.STATE_IN: state})
    assert out[Columns.ACTION_LOGP].shape == (2, 3)
    assert out[Columns.STATE_OUT]["h"].shape == state["h"].shape


@pytest.mark.parametrize("base_id", ["perceiver_rl/Tokens-CartPole-v1", "perceiver_rl/Tokens-MiniGrid-DoorKey-5x5-v0"])
@pytest.mark.parametrize("encoder", ["perceiver", "transformer", "mlp"])
def test_token_module_outputs_match_action_space(base_id, encoder):
    env = gym.make(base_id)
    module = PerceiverRLModule(observation_space=env.observation_space, action_space=env.action_space,
                               model_config={"token_net": {"encoder": encoder, "latent_channels": 32}})
    obs = _batch(env, 5)
    out = module.forward_train({Columns.OBS: obs})
    dist = module.get_train_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    actions = dist.sample()
    assert all(env.action_space.contains(int(a)) for a in actions)
    assert module.compute_values({Columns.OBS: obs}, out[Columns.EMBEDDINGS]).shape == (5,)
    (dist.logp(actions).sum() + module.compute_values({Columns.OBS: obs}).sum()).backward()
    missing = [n for n, p in module.named_parameters() if p.grad is None]
    assert not missing, missing


def test_token_module_rejects_unknown_encoder():
    env = gym.make("perceiver_rl/Tokens-CartPole-v1")
    with pytest.raises(ValueError, match="^encoder: unknown token encoder 'cnn'"):
        PerceiverRLModule(observation_space=env.observation_space, action_space=env.action_space, model_config={"token_net": {"encoder": "cnn"}})


def test_info_counters_callback_reports_dropped_entities_per_episode():
    from ray.rllib.env.single_agent_episode import SingleAgentEpisode
    from ray.rllib.utils.metrics.metrics_logger import MetricsLogger

    from agents.rllib.callbacks import InfoCounters

    cb, logger = InfoCounters(), MetricsLogger()
    for dropped_per_step in (3, 0):
        ep = SingleAgentEpisode()
        ep.add_env_reset(observation=0, infos={"entities_dropped": dropped_per_step, "illegal_actions": 0})
        for t in range(4):
            ep.add_env_step(observation=0, action=0, reward=0.0, infos={"entities_dropped": dropped_per_step, "illegal_actions": t})
            cb.on_episode_step(episode=ep, metrics_logger=logger)
        cb.on_episode_end(episode=ep, metrics_logger=logger)
    assert logger.peek("entities_dropped") == pytest.approx((12 + 0) / 2)
    assert logger.peek("illegal_actions") == pytest.approx(3)
