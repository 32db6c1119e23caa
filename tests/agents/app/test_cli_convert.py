"""`perceiver-rl convert`: HF weights on disk -> our model, same outputs; bad input exits 2."""

import json

import pytest
import torch
from safetensors.torch import load_file

from agents.app.cli import main
from perceiver_rl.convert import FAMILIES, config_from_hf

transformers = pytest.importorskip("transformers")


def test_convert_hf_directory_round_trip(tmp_path, capsys):
    cfg = transformers.PerceiverConfig(
        num_latents=8, d_latents=32, d_model=16, num_blocks=1, num_self_attends_per_block=1, num_self_attention_heads=2, num_cross_attention_heads=1,
        image_size=16, num_labels=5, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    torch.manual_seed(0)
    hf = transformers.PerceiverForImageClassificationFourier(cfg).eval()
    hf.save_pretrained(tmp_path / "hf")
    assert (
        main(["convert", str(tmp_path / "hf"), "--family", "fourier", "--match-hf", "--out", str(tmp_path / "ours")])
        == 0
    )
    assert "converted fourier" in capsys.readouterr().out
    meta = json.loads((tmp_path / "ours" / "conversion.json").read_text())
    ours = FAMILIES["fourier"].build(config_from_hf("fourier", meta["hf_config"], match_hf=meta["match_hf"]))
    ours.load_state_dict(load_file(tmp_path / "ours" / "model.safetensors"))
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), hf(pixel_values=x).logits, atol=1e-4, rtol=1e-4)


def test_convert_bad_family_and_missing_source_exit_2(tmp_path, capsys):
    assert main(["convert", str(tmp_path), "--family", "audio", "--out", str(tmp_path / "o")]) == 2
    assert "family" in capsys.readouterr().err
    assert (
        main(["convert", str(tmp_path / "nope.safetensors"), "--family", "fourier", "--out", str(tmp_path / "o")]) == 2
    )
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "o").exists()
