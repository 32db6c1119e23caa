"""Load HF transformers Perceiver weights (DeepMind's released checkpoints) into our models.

Families (``FAMILIES``): 'learned', 'fourier', 'conv' (``PerceiverForImageClassification{Learned,Fourier,
ConvProcessing}``, hub ids ``deepmind/vision-perceiver-{learned,fourier,conv}``) and 'flow'
(``PerceiverForOpticalFlow``, ``deepmind/optical-flow-perceiver``). Nothing is downloaded: the user
passes a file or a directory they already have. Files are read with safetensors or
``torch.load(weights_only=True)``; arbitrary pickles are refused.

- ``load_hf_state_dict(model, state_dict)``: rename HF keys onto ``model`` and load them; missing,
  unexpected or mis-shaped keys raise one ValueError listing all of them.
- ``convert_checkpoint(path, family, *, match_hf=False, image_size=None, config=None) -> model`` (eval).
- ``config_from_hf(family, hf_config, *, match_hf=False, image_size=None)``: our config from HF's ``config.json`` dict.

``match_hf`` selects HF's behaviour where it differs from DeepMind's: decoder query residual on for
'learned', and the 'conv' preprocessor's padding (55x55 tokens instead of 56x56).

Every HF config field is honoured, refused, or known not to change the outputs (:mod:`.hf_fields`);
unreadable or foreign files, bad fields and weights that do not fit raise one ``ValueError`` naming the
file or field (``perceiver-rl convert`` turns it into exit status 2).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .classifier import ImageClassifier, ImageClassifierConfig
from .flow import OpticalFlow, OpticalFlowConfig
from .hf_fields import check_hf_config
from .preprocessors import ConvPreprocessorConfig, FourierPixelsPreprocessorConfig, LearnedPositionPreprocessorConfig

# (HF name, our name) substrings. Prefixes are matched at the start of a key, layer parts anywhere.
_TRUNK_PREFIXES = (
    ("perceiver.embeddings.latents", "encoder.latents"),
    ("perceiver.encoder.", "encoder."),
    ("perceiver.decoder.decoder.decoding_cross_attention.", "decoder.cross_attention."),
    ("perceiver.decoder.decoder.final_layer.", "decoder.final."),
    ("perceiver.decoder.decoder.output_position_encodings.position_embeddings", "queries.embeddings"),
)
_LAYER_PARTS = (
    (".attention.self.layernorm1.", ".attention.q_norm."),
    (".attention.self.layernorm2.", ".attention.kv_norm."),
    (".attention.self.query.", ".attention.q_proj."),
    (".attention.self.key.", ".attention.k_proj."),
    (".attention.self.value.", ".attention.v_proj."),
    (".attention.output.dense.", ".attention.o_proj."),
    (".layernorm.", ".mlp.norm."),
    (".mlp.dense1.", ".mlp.fc1."),
    (".mlp.dense2.", ".mlp.fc2."),
)
_PRE = "perceiver.input_preprocessor."
_OPTIONAL_SUFFIXES = (".num_batches_tracked",)
"""Keys a checkpoint may omit (BatchNorm's step counter does not affect outputs)."""


@dataclass(frozen=True)
class Family:
    """One convertible HF model class: how to build ours and how its preprocessor's keys are named."""

    hf_class: str
    """transformers class name."""
    hub_id: str
    """Hub id of DeepMind's released weights (for messages; never downloaded)."""
    build: Callable[[Any], nn.Module]
    """Our model from our config."""
    from_hf: Callable[[Mapping[str, Any], bool], Any]
    """Our config from HF's config dict and ``match_hf``."""
    preprocessor_prefixes: tuple[tuple[str, str], ...]


def _image_size(hf: Mapping[str, Any], key: str, default: Any) -> tuple[int, int]:
    size = hf.get(key, default)
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _num_classes(hf: Mapping[str, Any]) -> int:
    return len(hf["id2label"]) if hf.get("id2label") else int(hf.get("num_labels", 1000))


def _trunk(hf: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Encoder hyper-parameters shared by all families, HF config names -> ours."""

    def get(key: str) -> Any:
        return hf.get(key, defaults[key])

    return dict(
        num_latents=get("num_latents"),
        num_latent_channels=get("d_latents"),
        num_blocks=get("num_blocks"),
        num_self_attends_per_block=get("num_self_attends_per_block"),
        num_cross_attention_heads=get("num_cross_attention_heads"),
        num_self_attention_heads=get("num_self_attention_heads"),
        cross_attention_widening_factor=get("cross_attention_widening_factor"),
        self_attention_widening_factor=get("self_attention_widening_factor"),
        qk_channels=get("qk_channels"),
        v_channels=get("v_channels"),
        use_query_residual=get("use_query_residual"),
        cross_attention_shape_for_attn=get("cross_attention_shape_for_attention"),
    )


# Paper configurations in HF's config names: the fallback for keys a config.json leaves out.
_IMAGENET_HF = dict(
    num_latents=512, d_latents=1024, num_blocks=8, num_self_attends_per_block=6, num_cross_attention_heads=1,
    num_self_attention_heads=8, cross_attention_widening_factor=1, self_attention_widening_factor=1,
    qk_channels=None, v_channels=None, use_query_residual=True, cross_attention_shape_for_attention="kv",
)  # fmt: skip
_FLOW_HF = dict(_IMAGENET_HF, num_latents=2048, d_latents=512, num_blocks=1, num_self_attends_per_block=24,
                num_self_attention_heads=16)  # fmt: skip


def _learned_from_hf(hf: Mapping[str, Any], match_hf: bool) -> ImageClassifierConfig:
    pre = LearnedPositionPreprocessorConfig(image_size=_image_size(hf, "image_size", 224))
    return ImageClassifierConfig(
        preprocessor="learned", preprocessor_config=pre, num_classes=_num_classes(hf),
        decoder_query_residual=match_hf, **_trunk(hf, _IMAGENET_HF),
    )  # fmt: skip


def _fourier_from_hf(hf: Mapping[str, Any], match_hf: bool) -> ImageClassifierConfig:
    pre = FourierPixelsPreprocessorConfig(image_size=_image_size(hf, "image_size", 224), max_resolution=(224, 224))
    return ImageClassifierConfig(
        preprocessor="fourier", preprocessor_config=pre, num_classes=_num_classes(hf), **_trunk(hf, _IMAGENET_HF)
    )


def _conv_from_hf(hf: Mapping[str, Any], match_hf: bool) -> ImageClassifierConfig:
    pre = ConvPreprocessorConfig(
        image_size=_image_size(hf, "image_size", 224), max_resolution=(56, 56), tf_same_padding=not match_hf
    )
    return ImageClassifierConfig(
        preprocessor="conv", preprocessor_config=pre, num_classes=_num_classes(hf), **_trunk(hf, _IMAGENET_HF)
    )


def _flow_from_hf(hf: Mapping[str, Any], match_hf: bool) -> OpticalFlowConfig:
    size = _image_size(hf, "train_size", (368, 496))
    return OpticalFlowConfig(image_size=size, max_resolution=size, **_trunk(hf, _FLOW_HF))


FAMILIES: dict[str, Family] = {
    "learned": Family(
        "PerceiverForImageClassificationLearned", "deepmind/vision-perceiver-learned", ImageClassifier,
        _learned_from_hf,
        (
            (_PRE + "convnet_1x1.", "preprocessor.conv."),
            (_PRE + "position_embeddings.position_embeddings", "preprocessor.position.embeddings"),
            (_PRE + "positions_projection.", "preprocessor.projection."),
        ),
    ),
    "fourier": Family(
        "PerceiverForImageClassificationFourier", "deepmind/vision-perceiver-fourier", ImageClassifier,
        _fourier_from_hf, (),
    ),
    "conv": Family(
        "PerceiverForImageClassificationConvProcessing", "deepmind/vision-perceiver-conv", ImageClassifier,
        _conv_from_hf,
        ((_PRE + "convnet.conv.", "preprocessor.conv."), (_PRE + "convnet.batchnorm.", "preprocessor.batchnorm.")),
    ),
    "flow": Family(
        "PerceiverForOpticalFlow", "deepmind/optical-flow-perceiver", OpticalFlow, _flow_from_hf,
        ((_PRE + "conv_after_patches.", "preprocessor.linear."),),
    ),
}  # fmt: skip


def get_family(family: str) -> Family:
    if family not in FAMILIES:
        raise ValueError(f"family: unknown model family {family!r}, expected one of {sorted(FAMILIES)}")
    return FAMILIES[family]


def _family_of(model: nn.Module) -> str:
    if isinstance(model, OpticalFlow):
        return "flow"
    if isinstance(model, ImageClassifier):
        return model.config.preprocessor
    raise ValueError(f"model: expected an ImageClassifier or OpticalFlow, got {type(model).__name__}")


def hf_key_to_ours(key: str, family: str) -> str | None:
    """Our parameter name for HF's ``key`` in ``family``, or ``None`` when no rule covers it."""
    for hf, ours in get_family(family).preprocessor_prefixes + _TRUNK_PREFIXES:
        if key.startswith(hf):
            renamed = ours + key[len(hf) :]
            break
    else:
        return None
    for hf, ours in _LAYER_PARTS:
        renamed = renamed.replace(hf, ours)
    return renamed


def config_from_hf(
    family: str, hf_config: Mapping[str, Any], *, match_hf: bool = False, image_size: int | None = None
) -> Any:
    """Our config for ``family`` from an HF ``PerceiverConfig`` dict (``config.json`` / ``to_dict()``).

    HF's Fourier/conv classifiers take any image size, ours are built for one: ``image_size`` overrides
    the config's ``image_size`` (fallback 224). The flow model's size is HF's ``train_size``.
    """
    fam = get_family(family)
    check_hf_config(hf_config, fam.hf_class)
    if image_size is not None:
        if family == "flow":
            raise ValueError("image_size: the flow model's frame size is fixed by the checkpoint's train_size")
        hf_config = {**hf_config, "image_size": int(image_size)}
    return fam.from_hf(hf_config, match_hf)


def load_hf_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """Copy an HF Perceiver ``state_dict`` into ``model`` (an ``ImageClassifier`` or ``OpticalFlow``).

    Raises one ValueError listing every unexpected key (HF names), missing key (our names) and shape
    mismatch; on error the model is left untouched. Returns ``model``.
    """
    family = _family_of(model)
    ours = model.state_dict()
    converted: dict[str, torch.Tensor] = {}
    seen: set[str] = set()
    unexpected, mismatched = [], []
    for key, value in state_dict.items():
        name = hf_key_to_ours(key, family)
        if name is None or name not in ours:
            unexpected.append(key)
            continue
        seen.add(name)
        if tuple(value.shape) != tuple(ours[name].shape):
            mismatched.append(f"{key}: checkpoint {tuple(value.shape)} vs model {tuple(ours[name].shape)}")
        else:
            converted[name] = value
    missing = [k for k in ours if k not in seen and not k.endswith(_OPTIONAL_SUFFIXES)]
    if unexpected or missing or mismatched:
        parts = [
            f"{label} ({len(keys)}): {', '.join(keys)}"
            for label, keys in (
                ("unexpected keys", unexpected),
                ("missing keys", missing),
                ("shape mismatch", mismatched),
            )
            if keys
        ]
        raise ValueError(f"state_dict does not fit {get_family(family).hf_class} -> ours: " + "; ".join(parts))
    model.load_state_dict(converted, strict=False)
    return model


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` file, or of a torch file read with ``torch.load(weights_only=True)``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: no checkpoint file at {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as err:  # safetensors raises its own SafetensorError (truncated, not safetensors)
            raise ValueError(f"{path}: not a valid safetensors file ({_first_line(err)})") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path}: refusing to unpickle anything but tensors (weights_only=True): {_first_line(err)}"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:  # truncated, not a torch file
        raise ValueError(f"{path}: not a valid torch checkpoint file ({_first_line(err)})") from None
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a flat mapping name -> tensor, got {type(state).__name__}")
    return dict(state)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def read_hf_config(path: str | Path) -> dict[str, Any]:
    """An HF ``config.json`` as a dict; ``ValueError`` naming the file when it is not a JSON object."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({_first_line(err)})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of config fields, got {type(data).__name__}")
    return data


_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def _resolve(path: Path) -> tuple[Path, Path | None]:
    """``(weights file, config.json or None)`` for a checkpoint file or an HF model directory."""
    if path.is_dir():
        for name in _WEIGHT_FILES:
            if (path / name).is_file():
                config = path / "config.json"
                return path / name, config if config.is_file() else None
        raise ValueError(f"path: {path} holds none of {', '.join(_WEIGHT_FILES)}")
    return path, None


def convert_checkpoint(
    path: str | Path,
    family: str,
    *,
    match_hf: bool = False,
    image_size: int | None = None,
    config: Any | None = None,
) -> nn.Module:
    """Build our ``family`` model and load HF/DeepMind weights from ``path`` into it; returns it in eval mode.

    ``path`` is a weights file or an HF model directory (``model.safetensors`` or ``pytorch_model.bin``,
    with an optional ``config.json``). The architecture comes from ``config`` if given, else from the
    directory's ``config.json``, else the paper configuration of ``family``. ``match_hf`` reproduces HF's
    outputs instead of DeepMind's where the two differ (see the module docstring); ``image_size`` builds an
    image classifier for ``image_size`` x ``image_size`` inputs (see ``config_from_hf``).
    """
    fam = get_family(family)
    weights, config_json = _resolve(Path(path))
    if config is None:
        hf_config = read_hf_config(config_json) if config_json else {}
        try:
            config = config_from_hf(family, hf_config, match_hf=match_hf, image_size=image_size)
        except ValueError as err:
            raise ValueError(f"{config_json}: {err}" if config_json else str(err)) from None
    model = load_hf_state_dict(fam.build(config), read_state_dict(weights))
    return model.eval()
