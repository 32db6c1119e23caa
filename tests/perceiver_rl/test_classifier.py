"""ImageClassifier: presets (parameter counts = HF's), preprocessor registry, padding and residual switches."""

from __future__ import annotations

import pytest
import torch

from perceiver_rl import IMAGE_PREPROCESSORS, ImageClassifier, ImageClassifierConfig, imagenet_config
from perceiver_rl.preprocessors import (
    ConvPreprocessor,
    ConvPreprocessorConfig,
    FourierPixelsPreprocessorConfig,
    LearnedPositionPreprocessorConfig,
    same_padding,
)

# Parameter counts of transformers' PerceiverForImageClassification{Learned,Fourier,ConvProcessing}
# built with the paper configuration (reference: 62.26M / 48.44M / 48.65M).
HF_PARAMS = {"learned": 62_255_848, "fourier": 48_440_627, "conv": 48_646_522}
HF_CLASSES = {
    "learned": "PerceiverForImageClassificationLearned",
    "fourier": "PerceiverForImageClassificationFourier",
    "conv": "PerceiverForImageClassificationConvProcessing",
}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("variant", sorted(HF_PARAMS))
def test_paper_presets_count_like_hf(variant):
    transformers = pytest.importorskip("transformers")
    from transformers.models.perceiver import modeling_perceiver

    with torch.device("meta"):
        ours = ImageClassifier(imagenet_config(variant))
        hf_config = transformers.PerceiverConfig(
            num_latents=512, d_latents=1024, num_blocks=8, num_self_attends_per_block=6, num_cross_attention_heads=1,
            num_self_attention_heads=8, image_size=224, num_labels=1000,
        )  # fmt: skip
        hf = getattr(modeling_perceiver, HF_CLASSES[variant])(hf_config)
    assert n_params(ours) == n_params(hf) == HF_PARAMS[variant]


def test_paper_input_widths_and_token_counts():
    with torch.device("meta"):
        models = {v: ImageClassifier(imagenet_config(v)) for v in HF_PARAMS}
    widths = {v: m.preprocessor.num_channels for v, m in models.items()}
    assert widths == {"learned": 512, "fourier": 261, "conv": 322}
    assert models["conv"].preprocessor.grid_size == (56, 56)  # DeepMind: 3,136 tokens


def test_deepmind_switch_defaults():
    assert imagenet_config("learned").decoder_query_residual is False  # DeepMind; HF turns it on
    assert imagenet_config("fourier").decoder_query_residual is True
    conv = imagenet_config("conv")
    assert conv.decoder_query_residual is True and conv.preprocessor_config.tf_same_padding is True


def test_same_padding_matches_tensorflow():
    assert same_padding(224, 7, 2) == (2, 3)
    assert same_padding(112, 3, 2) == (0, 1)
    assert same_padding(5, 1, 1) == (0, 0)


@pytest.mark.parametrize("tf_same, grid", [(True, (56, 56)), (False, (55, 55))])
def test_conv_preprocessor_grid(tf_same, grid):
    pre = ConvPreprocessor(ConvPreprocessorConfig(tf_same_padding=tf_same, max_resolution=(56, 56))).eval()
    out = pre(torch.randn(1, 3, 224, 224))
    assert pre.grid_size == grid and out.shape == (1, grid[0] * grid[1], 322)


def tiny(preprocessor: str, pre_config: object) -> ImageClassifier:
    return ImageClassifier(
        ImageClassifierConfig(
            preprocessor=preprocessor, preprocessor_config=pre_config, num_classes=5, num_latents=8,
            num_latent_channels=32, num_blocks=2, num_self_attends_per_block=1, num_self_attention_heads=4,
        )
    )  # fmt: skip


TINY = {
    "learned": LearnedPositionPreprocessorConfig(image_size=(8, 8), in_channels=1, conv_channels=8,
                                                 position_channels=8, projected_position_channels=4),
    "fourier": FourierPixelsPreprocessorConfig(image_size=(8, 8), in_channels=1, num_bands=4),
    "conv": ConvPreprocessorConfig(image_size=(16, 16), in_channels=1, conv_channels=8, num_bands=4),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(IMAGE_PREPROCESSORS))
def test_every_registered_preprocessor_trains(name):
    model = tiny(name, TINY[name])
    size = TINY[name].image_size
    images, labels = torch.randn(6, 1, *size), torch.arange(6) % 5
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert model(images).shape == (6, 5)
    assert losses[-1] < 0.5 * losses[0]


def test_bad_arguments_name_the_culprit():
    with pytest.raises(ValueError, match="preprocessor: unknown name 'vit'"):
        tiny("vit", None)
    with pytest.raises(ValueError, match="preprocessor_config: 'conv' needs a ConvPreprocessorConfig"):
        tiny("conv", TINY["fourier"])
    with pytest.raises(ValueError, match="variant: unknown ImageNet variant"):
        imagenet_config("pixels")
    model = tiny("fourier", TINY["fourier"])
    with pytest.raises(ValueError, match=r"images: expected shape \(B, 1, 8, 8\), got \(2, 3, 8, 8\)"):
        model(torch.randn(2, 3, 8, 8))
