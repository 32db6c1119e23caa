"""``env_runners.overlap``: PPO's EnvRunner samples the next batch while the learner trains on this one, with a
policy lag of exactly one update (RLlib's weights sequence numbers, which every sampled step carries)."""

import pytest
from ray.rllib.core.columns import Columns
from ray.rllib.utils.metrics import WEIGHTS_SEQ_NO

from agents.app.cli import CONFIGS_DIR
from agents.experiment.loader import load_config
from agents.rllib.build import algorithm_config
from agents.rllib.overlap import SAMPLE_TAG, OverlappedPPO

SETS = [
    "env_runners.num_env_runners=1",
    "env_runners.num_envs_per_env_runner=2",
    "training.train_batch_size_per_learner=64",
    "training.minibatch_size=32",
    "training.num_epochs=1",
]


def _lags(overlap: bool, iterations: int) -> tuple[type, list[set[int]], int]:
    """Train ``iterations``; per learner update, the learner's updates so far minus the weights version each
    sampled step was taken with; the sample requests in flight at the end."""
    cfg = load_config(CONFIGS_DIR / "cartpole_perceiver.yaml", [*SETS, f"env_runners.overlap={overlap}"])
    algo = algorithm_config(cfg).build_algo()
    learner = algo.learner_group._learner
    lags: list[set[int]] = []
    update = algo.learner_group.update

    def recording_update(*, episodes, **kwargs):
        seen = {int(v) for ep in episodes for v in ep.get_extra_model_outputs(WEIGHTS_SEQ_NO)}
        # the sampling pass's values, which advantage estimation reads (AlphaStarRLModule.compute_values)
        assert all(len(ep.get_extra_model_outputs(Columns.VF_PREDS)) == len(ep) for ep in episodes)
        lags.append({learner._weights_seq_no - v for v in seen})
        return update(episodes=episodes, **kwargs)

    algo.learner_group.update = recording_update
    try:
        for _ in range(iterations):
            result = algo.train()
            assert result["env_runners"]["num_env_steps_sampled"] >= 64
            assert result["learners"]["__all_modules__"]["num_module_steps_trained"] >= 64
        return type(algo), lags, algo.env_runner_group.num_in_flight_async_reqs(SAMPLE_TAG)
    finally:
        algo.stop()


@pytest.mark.usefixtures("ray_session")
def test_overlapped_ppo_samples_one_update_behind_and_keeps_one_request_in_flight():
    algo_class, lags, in_flight = _lags(overlap=True, iterations=4)
    assert algo_class is OverlappedPPO
    # update 1 trains on what the initial weights sampled; every later batch was sampled one update back
    assert lags == [{0}, {1}, {1}, {1}]
    assert in_flight == 1  # the next batch, sampled while the learner trained on the last one


@pytest.mark.usefixtures("ray_session")
def test_without_overlap_ppo_samples_with_the_weights_it_trains():
    algo_class, lags, in_flight = _lags(overlap=False, iterations=3)
    assert algo_class is not OverlappedPPO
    assert lags == [{0}, {0}, {0}]
    assert in_flight == 0


def test_appo_overlaps_as_it_is_and_the_key_needs_an_env_runner():
    from ray.rllib.algorithms.appo import APPO

    from agents.experiment.config import ConfigError

    appo = ["algorithm=APPO", "env_runners.rollout_fragment_length=32", "env_runners.overlap=true"]
    cfg = load_config(CONFIGS_DIR / "cartpole_perceiver.yaml", [*SETS, *appo])
    assert algorithm_config(cfg).algo_class is APPO
    with pytest.raises(ConfigError, match=r"^env_runners.overlap: needs env_runners.num_env_runners >= 1"):
        load_config(CONFIGS_DIR / "cartpole_perceiver.yaml", ["env_runners.overlap=true"])


@pytest.mark.usefixtures("ray_session")
def test_an_overlapped_run_survives_an_env_runner_that_dies_mid_sample():
    """The EnvRunner process exits while its sample request is in flight: the iteration reports no update, RLlib
    restarts the EnvRunner (iterations meanwhile find none), a new request goes out, and training goes on."""
    kill = ["faults.crash_at_step=100", "faults.kill_process=true", "env_runners.overlap=true"]
    cfg = load_config(CONFIGS_DIR / "cartpole_perceiver.yaml", [*SETS, *kill])
    algo = algorithm_config(cfg).build_algo()
    try:
        trained = []  # each env instance is killed at its 100th step: about every fourth iteration
        for _ in range(12):
            result = algo.train()
            trained.append(result.get("learners", {}).get("__all_modules__", {}).get("num_module_steps_trained", 0))
            if algo.env_runner_group.num_remote_worker_restarts() and trained[-1] > 0:
                break  # restarted, and learning again
        lost = [i for i, t in enumerate(trained) if not t > 0]  # no update: the sample died with the process, and
        # the iterations until RLlib's restart (a second or two) found no EnvRunner
        assert lost and trained[-1] > 0, trained
        assert algo.env_runner_group.num_remote_worker_restarts() == 1
        assert algo.env_runner_group.num_healthy_remote_workers() == 1
    finally:
        algo.stop()


def test_the_decoupled_objective_centres_the_clip_on_the_learners_weights():
    """``ProximalPass`` + ``DecoupledClip`` (agents.rllib.decoupled): the ratio's denominator becomes the learner's own
    log-probability of the sampled action, the advantage is weighted by min(1, pi_prox / pi_behaviour), and advantage
    estimation reads the learner's fresh values."""
    import dataclasses

    import gymnasium as gym
    import numpy as np
    import torch
    from ray.rllib.evaluation.postprocessing import Postprocessing

    import envs
    from agents.nets.encoders import EntityEncoderConfig
    from agents.nets.policy import PolicyConfig
    from agents.rllib.alphastar_module import AlphaStarRLModule, contract_to_model_config
    from agents.rllib.decoupled import CHUNK, PROXIMAL_LOGP, DecoupledClip, ProximalPass

    env = gym.make("perceiver_rl/Sim-MoveToBeacon-v0", spatial_size=16, plane_pool=4)
    small = PolicyConfig(entity_encoder=EntityEncoderConfig(channels=16, num_latents=4, num_layers=1, head_channels=8),
                         state_channels=16, head_channels=16, spatial_pool=4, spatial_channels=[4, 8])  # fmt: skip
    mc = {"policy": dataclasses.asdict(small), **contract_to_model_config(**envs.contract_of(env))}
    module = AlphaStarRLModule(observation_space=env.observation_space, action_space=env.action_space, model_config=mc)
    rows, (obs, _) = [], env.reset(seed=0)
    for _ in range(CHUNK + 6):  # more than one chunk of the pass
        rows.append(obs)
        obs, _, done, *_ = env.step(env.action_space.sample())
        if done:
            obs, _ = env.reset()
    batch_obs = {k: torch.as_tensor(np.stack([r[k] for r in rows])) for k in rows[0]}
    with torch.no_grad():
        explore = module.forward_exploration({Columns.OBS: batch_obs})
    n = len(rows)
    behaviour = explore[Columns.ACTION_LOGP] + torch.linspace(-1.0, 1.0, n)  # as if sampled by other weights
    advantages = torch.randn(n)
    columns = {Columns.OBS: batch_obs, Columns.ACTIONS: explore[Columns.ACTIONS], Columns.ACTION_LOGP: behaviour,
               Columns.VF_PREDS: explore[Columns.VF_PREDS] + 5.0, Columns.LOSS_MASK: torch.ones(n, dtype=torch.bool)}  # fmt: skip
    batch = {"default_policy": columns}
    rl_module = {"default_policy": module}
    ProximalPass()(rl_module=rl_module, batch=batch, episodes=[])
    torch.testing.assert_close(columns[PROXIMAL_LOGP], explore[Columns.ACTION_LOGP], atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(columns[Columns.VF_PREDS], explore[Columns.VF_PREDS])  # fresh, not the stored + 5
    columns[Postprocessing.ADVANTAGES] = advantages.clone()
    DecoupledClip()(rl_module=rl_module, batch=batch, episodes=[])
    weight = torch.exp(explore[Columns.ACTION_LOGP] - behaviour).clamp(max=1.0)
    torch.testing.assert_close(columns[Postprocessing.ADVANTAGES], advantages * weight, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(columns[Columns.ACTION_LOGP], explore[Columns.ACTION_LOGP], atol=1e-4, rtol=1e-5)
    assert PROXIMAL_LOGP not in columns and (weight < 1).any() and (weight == 1).any()
