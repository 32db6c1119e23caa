"""Perceiver IO in pure PyTorch."""

from .attention import AttentionRecord, AttentionRecorder, MultiHeadAttention, record_attention, zero_masked
from .blocks import MLP, CrossAttentionBlock, SelfAttentionBlock
from .classifier import IMAGENET_PRESETS, ImageClassifier, ImageClassifierConfig, imagenet_config
from .convert import convert_checkpoint, load_hf_state_dict
from .decoder import DecoderConfig, PerceiverDecoder
from .encoder import EncoderConfig, PerceiverEncoder
from .flow import OpticalFlow, OpticalFlowConfig, end_point_error, flow_patches
from .model import PerceiverIO
from .position import FourierPositionEncoding, LearnedPositionEncoding, fourier_features, linear_positions
from .preprocessors import IMAGE_PREPROCESSORS
from .queries import TrainableQueries

__all__ = [
    "AttentionRecord",
    "AttentionRecorder",
    "IMAGENET_PRESETS",
    "IMAGE_PREPROCESSORS",
    "MLP",
    "CrossAttentionBlock",
    "DecoderConfig",
    "EncoderConfig",
    "FourierPositionEncoding",
    "ImageClassifier",
    "ImageClassifierConfig",
    "LearnedPositionEncoding",
    "MultiHeadAttention",
    "OpticalFlow",
    "OpticalFlowConfig",
    "PerceiverDecoder",
    "PerceiverEncoder",
    "PerceiverIO",
    "SelfAttentionBlock",
    "TrainableQueries",
    "convert_checkpoint",
    "end_point_error",
    "flow_patches",
    "fourier_features",
    "imagenet_config",
    "linear_positions",
    "load_hf_state_dict",
    "record_attention",
    "zero_masked",
]
