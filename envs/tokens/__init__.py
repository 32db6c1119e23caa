"""Gym token wrappers: vector / image / Dict observations -> ``entities (N, F)`` + ``entity_mask (N,)`` (tokens)."""

from envs.tokens.factory import PREPROCESSING, MiniGridImageBounds, make_token_env
from envs.tokens.tokenizers import TOKENIZERS, make_tokenizer
from envs.tokens.wrapper import TokenConfig, TokenObservation

__all__ = [
    "PREPROCESSING",
    "TOKENIZERS",
    "MiniGridImageBounds",
    "TokenConfig",
    "TokenObservation",
    "make_token_env",
    "make_tokenizer",
]
