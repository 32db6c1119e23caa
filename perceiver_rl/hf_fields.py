"""Every field of an HF ``PerceiverConfig`` (``config.json``) and what the converter does with it.

A field is *honoured* (read into our config; parity with HF is tested), *refused* unless it has a value
our models reproduce (``hidden_act`` other than ``gelu``: our MLPs are GELU), or has *no effect* on the
outputs of the four converted families, with the reason. A field in none of these tables is refused too:
the converter cannot know whether it changes the outputs. ``check_hf_config`` applies the tables; its
``ValueError`` names the field. Never is a field that changes the math silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]


def _int_at_least(minimum: int) -> tuple[Check, str]:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum), f"an int >= {minimum}"


def _optional(check: tuple[Check, str]) -> tuple[Check, str]:
    return (lambda v: v is None or check[0](v)), f"{check[1]} or null"


def _size(v: Any) -> bool:
    """An image size: one positive int, or ``[H, W]`` of them."""
    ok = _int_at_least(1)[0]
    return ok(v) or (isinstance(v, (list, tuple)) and len(v) == 2 and all(ok(x) for x in v))


_POSITIVE = _int_at_least(1)
_BOOL: tuple[Check, str] = (lambda v: isinstance(v, bool), "true or false")

HONOURED: dict[str, tuple[Check, str]] = {
    "num_latents": _POSITIVE,
    "d_latents": _POSITIVE,
    "num_blocks": _POSITIVE,
    "num_self_attends_per_block": _int_at_least(0),
    "num_self_attention_heads": _POSITIVE,
    "num_cross_attention_heads": _POSITIVE,
    "qk_channels": _optional(_POSITIVE),
    "v_channels": _optional(_POSITIVE),
    "self_attention_widening_factor": _POSITIVE,
    "cross_attention_widening_factor": _POSITIVE,
    "cross_attention_shape_for_attention": (lambda v: v in ("kv", "q"), "'kv' or 'q'"),
    "use_query_residual": _BOOL,
    "image_size": (_size, "an int >= 1 or [H, W]"),
    "train_size": (_size, "an int >= 1 or [H, W]"),
    "id2label": (lambda v: isinstance(v, Mapping) and len(v) > 0, "a non-empty mapping"),
    "num_labels": _POSITIVE,
}
"""Read into our config (``convert._trunk`` and the families' ``from_hf``), with the values accepted."""

REPRODUCIBLE: dict[str, tuple[Check, str]] = {
    "hidden_act": (lambda v: v == "gelu", "'gelu' (our MLPs use exact GELU; other activations are not implemented)"),
    "pruned_heads": (lambda v: not v, "none (pruned attention heads are not supported)"),
    "model_type": (lambda v: v == "perceiver", "'perceiver'"),
}
"""Accepted only with these values (the one our models compute); any other value is refused."""

_OTHER_MODELS = "read only by HF's text / multimodal Perceivers, not by the converted image and flow models"
_FORMAT = "output format, loss choice or metadata: not the outputs' values"
NO_EFFECT: dict[str, str] = {
    "attention_probs_dropout_prob": "dropout: off in evaluation; the converted model has none",
    "initializer_range": "initialisation only: every weight is loaded",
    "layer_norm_eps": "never read by HF's Perceiver modeling (its LayerNorms use eps 1e-5, as ours)",
    "chunk_size_feed_forward": "computes the MLP in chunks: the same outputs",
    **dict.fromkeys(
        ("d_model", "vocab_size", "max_position_embeddings", "num_frames", "audio_samples_per_frame",
         "samples_per_patch", "output_shape", "output_num_channels", "_label_trainable_num_channels"),
        _OTHER_MODELS,
    ),
    **dict.fromkeys(
        ("output_hidden_states", "output_attentions", "return_dict", "problem_type", "label2id", "architectures",
         "transformers_version", "_name_or_path", "_commit_hash", "dtype", "torch_dtype", "use_bfloat16",
         "torchscript", "is_encoder_decoder", "is_decoder", "add_cross_attention", "cross_attention_hidden_size",
         "tie_encoder_decoder", "tie_word_embeddings", "finetuning_task", "task_specific_params", "tokenizer_class",
         "prefix", "bos_token_id", "pad_token_id", "eos_token_id", "sep_token_id", "decoder_start_token_id",
         "tf_legacy_loss", "_attn_implementation", "_attn_implementation_autoset", "_experts_implementation"),
        _FORMAT,
    ),
    **dict.fromkeys(
        ("max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
         "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty",
         "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
         "output_scores", "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id",
         "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens", "begin_suppress_tokens"),
        "text generation settings: not used by a forward pass",
    ),
}  # fmt: skip
"""Fields that do not change the converted model's outputs, with the reason."""


def check_hf_config(hf_config: Mapping[str, Any], hf_class: str) -> None:
    """``ValueError`` naming the first field of ``hf_config`` that is unknown, of an invalid value, or of a
    value our models do not reproduce; ``architectures`` must name ``hf_class`` when it names anything."""
    if not isinstance(hf_config, Mapping):
        raise ValueError(f"HF config: expected a mapping of fields, got {type(hf_config).__name__}")
    for key, value in hf_config.items():
        rule = HONOURED.get(key) or REPRODUCIBLE.get(key)
        if rule is not None:
            check, expected = rule
            if not check(value):
                raise ValueError(f"HF config field {key}: expected {expected}, got {_show(value)}")
        elif key not in NO_EFFECT:
            raise ValueError(
                f"HF config field {key}: unknown to the converter, which cannot tell whether it changes the outputs; "
                "remove it if it does not"
            )
    archs = hf_config.get("architectures")
    if archs and hf_class not in archs:
        raise ValueError(f"HF config field architectures: {_show(archs)} does not include {hf_class} (wrong --family?)")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
