"""HF Perceiver models with random weights and ours converted from them (``perceiver_rl/convert.py``'s tests)."""

from __future__ import annotations

import torch
import transformers
from transformers.models.perceiver import modeling_perceiver as hf_modeling

from perceiver_rl.convert import FAMILIES, config_from_hf, load_hf_state_dict
from perceiver_rl.flow import flow_patches

SMALL = dict(
    num_latents=16, d_latents=64, d_model=32, num_blocks=2, num_self_attends_per_block=2,
    num_cross_attention_heads=1, num_self_attention_heads=4, image_size=32, num_labels=10, train_size=[12, 20],
)  # fmt: skip
PAPER_IMAGENET = dict(
    num_latents=512, d_latents=1024, num_blocks=8, num_self_attends_per_block=6, num_cross_attention_heads=1,
    num_self_attention_heads=8, image_size=224, num_labels=1000,
)  # fmt: skip


@torch.no_grad()
def randomize_(model: torch.nn.Module) -> torch.nn.Module:
    """Re-draw every parameter and BatchNorm statistic at O(1) output scale (HF's init gives ~1e-3 logits)."""
    for name, p in model.named_parameters():
        fan_in = p[0].numel() if p.ndim >= 2 else 1
        p.copy_(
            torch.randn_like(p) / fan_in**0.5 if p.ndim >= 2 else 0.5 * torch.randn_like(p) + (name.endswith("weight"))
        )
    for name, b in model.named_buffers():
        if name.endswith("running_mean"):
            b.copy_(0.1 * torch.randn_like(b))
        elif name.endswith("running_var"):
            b.copy_(1 + torch.rand_like(b))
    return model


def build_hf(family: str, **overrides) -> torch.nn.Module:
    cfg = transformers.PerceiverConfig(**{**SMALL, **overrides, "attention_probs_dropout_prob": 0.0})
    return randomize_(getattr(hf_modeling, FAMILIES[family].hf_class)(cfg)).eval()


def build_ours_from(hf: torch.nn.Module, family: str, match_hf: bool = True) -> torch.nn.Module:
    ours = FAMILIES[family].build(config_from_hf(family, hf.config.to_dict(), match_hf=match_hf))
    return load_hf_state_dict(ours, hf.state_dict()).eval()


def sample_inputs(family: str, hf: torch.nn.Module, batch: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(input for HF, input for ours)."""
    if family == "flow":
        frames = torch.randn(batch, 2, 3, *hf.config.train_size)
        return flow_patches(frames), frames
    images = torch.randn(batch, 3, hf.config.image_size, hf.config.image_size)
    return images, images
