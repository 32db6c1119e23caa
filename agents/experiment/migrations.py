"""Config formats of the past: saved run configs are brought up to date (they must resume and evaluate), while a
config file or ``--set`` in an old format gets one line saying what changed.

* Nov 2026: the ``model:`` sections (flat keys, the token envs' ``perceiver`` module): an error naming the file.
* Dec 2026: the Perceiver's own MLP widenings: a saved run gets the widths it was trained with.
* Dec 2026: each algorithm's own keys in its section (``ppo:``, ``appo:``; :mod:`agents.experiment.algorithms`):
  a saved run's ``training.clip_param`` etc. move to its algorithm's section; elsewhere they are an error naming
  the new key.
* Dec 2026: ``evaluation_episodes`` (read by nothing) became the ``evaluation:`` section, whose episodes training
  plays: a saved run's key is dropped (it trained without evaluations: ``evaluation.every: 0``); elsewhere an error
  naming the section.
"""

from __future__ import annotations

from pathlib import Path

from ..nets.config_values import ConfigError
from .algorithms import ALGORITHM_SECTIONS, OWN_KEYS_BEFORE_SECTIONS

LEGACY_MODEL_KEYS = frozenset(
    {"encoder", "heads", "num_latents", "latent_channels", "num_self_attends", "num_heads", "hidden",
     "spatial_channels", "spatial_pool", "location_sigma", "lstm"}
)  # fmt: skip
"""``model:`` keys of the flat format before the sections (Nov 2026): a file with them has the old format."""


def check_file_format(path: Path, data: dict) -> None:
    """``ConfigError`` naming ``path`` when its ``model:`` section has a format from before Nov 2026: the flat keys,
    or the token envs' ``perceiver`` module with its ``token_net`` section (one line; exit 2 in the CLI)."""
    model = data.get("model")
    if not isinstance(model, dict):
        return
    legacy = sorted(LEGACY_MODEL_KEYS & set(model))
    if legacy:
        more = f" (+{len(legacy) - 3} more)" if len(legacy) > 3 else ""
        raise ConfigError(
            f"{path}: model: the config format changed (Nov 2026): {', '.join(legacy[:3])}{more} of the flat model "
            "section now live in model.policy (alphastar) or model.default; rewrite the section as docs/cli.md shows"
        )
    if model.get("module") == "perceiver" or "token_net" in model:  # the token envs' own module before Nov 2026
        raise ConfigError(
            f"{path}: model: the config format changed (Nov 2026): module perceiver and its model.token_net section "
            "are gone; token envs use module alphastar with a model.policy section (rewrite it as docs/cli.md shows)"
        )


def _moved_training_keys(data: dict) -> tuple[str | None, list[str]]:
    """(the section of ``data``'s algorithm, or None for an unknown one; the keys its ``training:`` holds that
    moved to the algorithm sections)."""
    training, algorithm = data.get("training"), data.get("algorithm", "PPO")
    section = ALGORITHM_SECTIONS.get(algorithm) if isinstance(algorithm, str) else None
    moved = [key for key in OWN_KEYS_BEFORE_SECTIONS if isinstance(training, dict) and key in training]
    return section, moved


def check_training_format(data: dict) -> None:
    """``ConfigError`` naming the first key of ``training:`` that moved to the algorithm's section (Dec 2026):
    ``training.clip_param: moved to ppo.clip_param ...``."""
    section, moved = _moved_training_keys(data)
    if section is not None and moved:
        raise ConfigError(
            f"training.{moved[0]}: moved to {section}.{moved[0]} (Dec 2026: each algorithm's own keys are in its "
            "section, ppo or appo; docs/cli.md)"
        )


def migrate_saved(data: dict) -> dict:
    """A saved run's ``config.yaml`` (every field written) in today's format, as it was trained."""
    _saved_before_perceiver_widening(data)
    _saved_before_algorithm_sections(data)
    _saved_before_evaluation_section(data)
    return data


def check_evaluation_format(data: dict) -> None:
    """``ConfigError`` for the top-level ``evaluation_episodes`` of before Dec 2026 in a config file or ``--set``."""
    if "evaluation_episodes" in data:
        raise ConfigError(
            "evaluation_episodes: replaced by the evaluation section (Dec 2026): evaluation.episodes, evaluation.every "
            "(iterations between evaluations during training), evaluation.record_every; docs/cli.md"
        )


def _saved_before_evaluation_section(data: dict) -> None:
    """A run saved with ``evaluation_episodes`` (read by nothing) trained without evaluations."""
    if "evaluation_episodes" in data and "evaluation" not in data:
        data.pop("evaluation_episodes")
        data["evaluation"] = {"every": 0}


def _saved_before_perceiver_widening(data: dict) -> None:
    """A run saved before the Perceiver had its own MLP widenings (Dec 2026) built both its cross- and latent
    self-attention MLPs with ``entity_encoder.widening_factor``: its saved section (every field written) has no
    ``self_attention_widening_factor``. Give it the widths it was trained with, so that it resumes / evaluates."""
    encoder = ((data.get("model") or {}).get("policy") or {}).get("entity_encoder")
    if isinstance(encoder, dict) and "widening_factor" in encoder and "self_attention_widening_factor" not in encoder:
        for key in ("cross_attention_widening_factor", "self_attention_widening_factor"):
            encoder.setdefault(key, encoder["widening_factor"])


def _saved_before_algorithm_sections(data: dict) -> None:
    """A run saved before the algorithm sections (Dec 2026) has PPO's keys (``clip_param``, ``lambda_``, ...) in
    ``training:``, for whichever algorithm it ran, and no section: they become its algorithm's section."""
    section, moved = _moved_training_keys(data)
    if section is not None and moved and section not in data:
        data[section] = {key: data["training"].pop(key) for key in moved}
