"""``OverlappedPPO``: PPO whose EnvRunners sample the next batch while the learner trains on this one.

RLlib's PPO samples, then learns, then samples again: on a 2-core machine one core idles in each phase. Here
the EnvRunners (remote actors, ``num_env_runners >= 1``) get their next ``sample`` request as soon as a batch
is fetched, and the learner (in the driver) trains on that batch meanwhile; an iteration costs
``max(sampling, learning)`` instead of their sum.

The price is a policy lag of one iteration, as in Sample Factory's asynchronous PPO: batch ``k`` is sampled
with the weights from before the update on batch ``k - 1``, and the learner starts from the weights after it.
:class:`OverlappedPPOLearner` therefore optimises PPO's decoupled objective (:mod:`agents.rllib.decoupled`): the
clip is centred on the learner's weights, and an importance weight corrects for the behaviour policy. Each
sample request carries the learner's weights of the moment it is sent (before the update it overlaps), so the lag
is exactly one update (RLlib's fire-and-forget ``sync_weights`` is dropped while an EnvRunner is busy).

Iteration ``k`` reports the EnvRunners' metrics of batch ``k`` and the learner's of its update on batch ``k``;
the sample in flight at the end of a run (``stop()``) is dropped. A failed EnvRunner is restored by RLlib
between iterations (``restart_failed_env_runners``); an iteration whose fetch brought nothing reports no
learner results and sends a new request.
"""

from __future__ import annotations

import ray
from ray.rllib.algorithms.ppo import PPO
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.connectors.learner import GeneralAdvantageEstimation
from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE
from ray.rllib.utils.metrics import (
    ALL_MODULES,
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_MODULE_STEPS_TRAINED_LIFETIME,
    TIMERS,
    WEIGHTS_SEQ_NO,
)

from .decoupled import DecoupledClip, ProximalPass

SAMPLE_TAG = "overlapped_sample"
"""The tag of the EnvRunners' sample requests (``EnvRunnerGroup.num_in_flight_async_reqs(SAMPLE_TAG)``)."""


def _sample_and_metrics(runner, state):
    """On an EnvRunner: the learner's weights (``state``), then one ``sample()`` (its configured batch share) and the
    metrics of it."""
    runner.set_state(state)
    return runner.sample(), runner.get_metrics()


class OverlappedPPO(PPO):
    """PPO with sampling and learning overlapped (see the module docstring); needs remote EnvRunners."""

    def _request_samples(self) -> None:
        """One ``sample`` request to every healthy EnvRunner that has none in flight, carrying the learner's current
        weights: RLlib's ``sync_weights`` drops a request while the EnvRunner is busy (one in flight per tag), which
        let the lag reach two updates; a request that carries its weights samples with them, always."""
        group = self.env_runner_group
        busy = group.num_in_flight_async_reqs(SAMPLE_TAG)
        if busy < group.num_healthy_remote_workers():
            state = self.learner_group.get_state(components=f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}",
                                                 inference_only=True)[COMPONENT_LEARNER]  # fmt: skip
            state = ray.put({k: v for k, v in state.items() if k in (COMPONENT_RL_MODULE, WEIGHTS_SEQ_NO)})
            group.foreach_env_runner_async(_sample_and_metrics, tag=SAMPLE_TAG, kwargs={"state": state})

    def training_step(self) -> None:
        group = self.env_runner_group
        if group.num_remote_workers() == 0:  # nothing to overlap with (checked by the config: not reached)
            return super().training_step()
        self._request_samples()
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, metrics = [], []
            while group.num_in_flight_async_reqs(SAMPLE_TAG) and not episodes:
                for _, (eps, m) in group.fetch_ready_async_reqs(tags=SAMPLE_TAG, timeout_seconds=None):
                    episodes.extend(eps)
                    metrics.append(m)
                if group.num_healthy_remote_workers() == 0:
                    break
            self._request_samples()  # the next batch, sampled while the learner trains on this one
            if not episodes:  # every EnvRunner failed: RLlib restores them before the next iteration
                return
            self.metrics.aggregate(metrics, key=ENV_RUNNER_RESULTS)

        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            learner_results = self.learner_group.update(
                episodes=episodes,
                timesteps={
                    NUM_ENV_STEPS_SAMPLED_LIFETIME: self.metrics.peek(
                        (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
                    ),
                    NUM_MODULE_STEPS_TRAINED_LIFETIME: self.metrics.peek(
                        (LEARNER_RESULTS, ALL_MODULES, NUM_MODULE_STEPS_TRAINED_LIFETIME), default=0
                    ),
                },
                num_epochs=self.config.num_epochs,
                minibatch_size=self.config.minibatch_size,
                shuffle_batch_per_epoch=self.config.shuffle_batch_per_epoch,
            )
            self.metrics.aggregate(learner_results, key=LEARNER_RESULTS)
        # the new weights go out with the next sample request (_request_samples), not by RLlib's sync_weights


class OverlappedPPOLearner(PPOTorchLearner):
    """PPO's learner with the decoupled objective's two connector pieces around advantage estimation."""

    def build(self) -> None:
        super().build()
        if self._learner_connector is not None:
            self._learner_connector.insert_before(GeneralAdvantageEstimation, ProximalPass())
            self._learner_connector.append(DecoupledClip())
