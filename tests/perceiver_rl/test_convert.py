"""HF transformers -> ours: parity of all four families, error paths, safe file reading."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from perceiver_rl.convert import FAMILIES, config_from_hf, convert_checkpoint, load_hf_state_dict, read_state_dict

pytest.importorskip("transformers")
from support.hf import PAPER_IMAGENET, build_hf, build_ours_from, sample_inputs


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_parity_small(family):
    hf = build_hf(family)
    ours = build_ours_from(hf, family)
    hf_in, our_in = sample_inputs(family, hf)
    with torch.no_grad():
        expected, got = hf(inputs=hf_in).logits, ours(our_in)
    assert got.shape == expected.shape
    assert expected.abs().max() > 1e-2  # outputs are not trivially small
    assert (got - expected).abs().max().item() <= 1e-4


def test_deepmind_defaults_differ_from_hf_where_documented():
    for family in ("learned", "conv"):
        hf = build_hf(family)
        deepmind = build_ours_from(hf, family, match_hf=False)
        hf_in, our_in = sample_inputs(family, hf)
        with torch.no_grad():
            assert (deepmind(our_in) - hf(inputs=hf_in).logits).abs().max() > 1e-3
    hf = build_hf("fourier")  # no known difference: DeepMind mode is HF mode
    hf_in, our_in = sample_inputs("fourier", hf)
    with torch.no_grad():
        assert torch.allclose(
            build_ours_from(hf, "fourier", match_hf=False)(our_in), hf(inputs=hf_in).logits, atol=1e-4
        )


@pytest.mark.slow
@pytest.mark.parametrize("family", ["learned", "fourier", "conv"])
def test_parity_paper_config(family):
    hf = build_hf(family, **PAPER_IMAGENET)
    ours = build_ours_from(hf, family)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in hf.parameters())
    images = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        expected, got = hf(inputs=images).logits, ours(images)
    assert (got - expected).abs().max().item() <= 1e-4


def test_unexpected_missing_and_mismatched_keys_are_listed():
    hf = build_hf("conv")
    state = dict(hf.state_dict())
    state["perceiver.decoder.decoder.extra.weight"] = torch.zeros(1)
    del state["perceiver.encoder.self_attends.1.mlp.dense2.bias"]
    state["perceiver.embeddings.latents"] = torch.zeros(3, 64)
    ours = FAMILIES["conv"].build(config_from_hf("conv", hf.config.to_dict(), match_hf=True))
    before = ours.encoder.latents.detach().clone()
    with pytest.raises(ValueError) as err:
        load_hf_state_dict(ours, state)
    msg = str(err.value)
    assert "unexpected keys (1): perceiver.decoder.decoder.extra.weight" in msg
    assert "missing keys (1): encoder.self_attends.1.mlp.fc2.bias" in msg
    assert "perceiver.embeddings.latents: checkpoint (3, 64) vs model (16, 64)" in msg
    assert "\n" not in msg
    assert torch.equal(ours.encoder.latents, before)  # untouched on error


def test_wrong_family_lists_the_other_preprocessor():
    hf = build_hf("learned")
    ours = FAMILIES["fourier"].build(config_from_hf("fourier", hf.config.to_dict()))
    with pytest.raises(ValueError, match=r"unexpected keys \(5\): perceiver\.input_preprocessor\.convnet_1x1\.weight"):
        load_hf_state_dict(ours, hf.state_dict())
    with pytest.raises(ValueError, match="family: unknown model family 'bert'"):
        convert_checkpoint("nowhere", "bert")


def test_convert_checkpoint_from_hf_directory_and_torch_file(tmp_path):
    hf = build_hf("flow")
    (tmp_path / "config.json").write_text(json.dumps(hf.config.to_dict()))
    save_file({k: v.contiguous() for k, v in hf.state_dict().items()}, str(tmp_path / "model.safetensors"))
    hf_in, frames = sample_inputs("flow", hf, batch=1)
    with torch.no_grad():
        expected = hf(inputs=hf_in).logits
        got = convert_checkpoint(tmp_path, "flow")(frames)
    assert (got - expected).abs().max().item() <= 1e-4

    torch.save(hf.state_dict(), tmp_path / "weights.bin")
    model = convert_checkpoint(tmp_path / "weights.bin", "flow", config=config_from_hf("flow", hf.config.to_dict()))
    assert not model.training
    with torch.no_grad():
        assert (model(frames) - expected).abs().max().item() <= 1e-4


class _Payload:
    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Payload.ran = True
    return {}


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_arbitrary_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.bin"
    path.write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(ValueError, match="refusing to unpickle"):
        read_state_dict(path)
    assert not _Payload.ran
    with pytest.raises(ValueError, match="no checkpoint file"):
        read_state_dict(tmp_path / "absent.safetensors")


def test_image_size_override_and_paper_fallback(tmp_path):
    hf = build_hf("fourier")
    save_file({k: v.contiguous() for k, v in hf.state_dict().items()}, str(tmp_path / "model.safetensors"))
    # No config.json beside the weights: the paper configuration is assumed, and these small weights misfit it.
    with pytest.raises(
        ValueError, match=r"perceiver\.embeddings\.latents: checkpoint \(16, 64\) vs model \(512, 1024\)"
    ):
        convert_checkpoint(tmp_path / "model.safetensors", "fourier")
    (tmp_path / "config.json").write_text(json.dumps(hf.config.to_dict()))
    model = convert_checkpoint(tmp_path, "fourier", match_hf=True, image_size=24)  # HF's Fourier model takes any size
    images = torch.randn(1, 3, 24, 24)
    with torch.no_grad():
        assert (model(images) - hf(inputs=images).logits).abs().max().item() <= 1e-4
    with pytest.raises(ValueError, match="image_size: the flow model"):
        config_from_hf("flow", {}, image_size=48)
