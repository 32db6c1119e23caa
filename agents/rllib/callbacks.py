"""Episode metrics from the envs' ``info``: what the SC2 adapter counts instead of failing silently.

At the end of each episode the running counters of the last step's info (``entities_dropped`` summed
over the episode, ``illegal_actions``) become RLlib metrics under ``env_runners/``, so the progress
line, progress.jsonl and TensorBoard show them.
"""

from __future__ import annotations

from ray.rllib.callbacks.callbacks import RLlibCallback


class InfoCounters(RLlibCallback):
    """Log per-episode sums of selected ``info`` counters as ``env_runners/<name>`` (mean over episodes)."""

    def on_episode_step(self, *, episode, metrics_logger=None, **kwargs) -> None:
        info = episode.get_infos(-1) or {}
        dropped = info.get("entities_dropped", 0) if isinstance(info, dict) else 0
        if dropped:
            episode.custom_data["entities_dropped"] = episode.custom_data.get("entities_dropped", 0) + int(dropped)

    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
        if metrics_logger is None:
            return
        info = episode.get_infos(-1) or {}
        metrics_logger.log_value("entities_dropped", episode.custom_data.get("entities_dropped", 0), reduce="mean")
        if isinstance(info, dict) and "illegal_actions" in info:
            metrics_logger.log_value("illegal_actions", int(info["illegal_actions"]), reduce="mean")
