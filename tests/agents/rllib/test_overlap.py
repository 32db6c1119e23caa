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
