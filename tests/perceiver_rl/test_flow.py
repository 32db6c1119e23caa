"""OpticalFlow: patch layout, paper size (= HF's parameter count), EPE, end-to-end training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from perceiver_rl import OpticalFlow, OpticalFlowConfig, end_point_error, flow_patches

HF_FLOW_PARAMS = 41_057_134  # transformers PerceiverForOpticalFlow, paper configuration (41.06M)


def tiny_config(**overrides) -> OpticalFlowConfig:
    base = dict(
        image_size=(6, 10), num_bands=4, num_latents=8, num_latent_channels=32, num_self_attends_per_block=2,
        num_self_attention_heads=4, rescale_factor=1.0,
    )  # fmt: skip
    return OpticalFlowConfig(**{**base, **overrides})


def test_flow_patches_match_a_direct_loop():
    frames = torch.randn(2, 2, 3, 4, 5)
    padded = F.pad(frames, (1, 1, 1, 1))
    patches = flow_patches(frames)
    assert patches.shape == (2, 2, 27, 4, 5)
    for y, x in [(0, 0), (3, 4), (1, 2)]:
        # (row, col, channel) order, channel fastest; the centre pixel sits at (1, 1).
        expected = padded[:, :, :, y : y + 3, x : x + 3].permute(0, 1, 3, 4, 2).reshape(2, 2, 27)
        assert torch.equal(patches[..., y, x], expected)
    assert torch.equal(patches[:, :, 12:15], frames)  # centre of the patch = the pixel itself


def test_paper_config_counts_like_hf():
    with torch.device("meta"):
        model = OpticalFlow()
    assert model.preprocessor.num_channels == 322
    assert sum(p.numel() for p in model.parameters()) == HF_FLOW_PARAMS
    transformers = pytest.importorskip("transformers")
    from transformers.models.perceiver.modeling_perceiver import PerceiverForOpticalFlow

    hf_config = transformers.PerceiverConfig(
        num_latents=2048, d_latents=512, num_blocks=1, num_self_attends_per_block=24, num_cross_attention_heads=1,
        num_self_attention_heads=16, train_size=[368, 496],
    )  # fmt: skip
    with torch.device("meta"):
        assert sum(p.numel() for p in PerceiverForOpticalFlow(hf_config).parameters()) == HF_FLOW_PARAMS


def test_end_point_error():
    target = torch.zeros(1, 1, 2, 2)
    flow = torch.tensor([[[[3.0, 4.0], [0.0, 1.0]]]])
    assert end_point_error(flow, target).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="target"):
        end_point_error(flow, torch.zeros(1, 2, 2))


def test_starts_at_zero_flow_and_learns_end_to_end():
    torch.manual_seed(0)
    model = OpticalFlow(tiny_config())
    frames = torch.randn(4, 2, 3, 6, 10)
    assert torch.equal(model(frames), torch.zeros(4, 6, 10, 2))  # zero-initialised output layer
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 6), torch.linspace(-1, 1, 10), indexing="ij")
    target = torch.stack([torch.sin(3 * ys), xs], dim=-1).expand(4, -1, -1, -1)  # a smooth flow field
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for step in range(40):
        loss = end_point_error(model(frames), target)
        opt.zero_grad()
        loss.backward()
        if step == 1:
            assert model.encoder.latents.grad.abs().sum() > 0  # gradients reach the encoder
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.75 * first  # 0.855 -> 0.54 in 40 steps on seed 0


def test_bad_frames_name_the_culprit():
    model = OpticalFlow(tiny_config())
    with pytest.raises(ValueError, match=r"frames: expected shape \(B, 2, 3, 6, 10\), got \(1, 3, 3, 6, 10\)"):
        model(torch.randn(1, 3, 3, 6, 10))
