"""Forward+backward of our PerceiverIO vs transformers' PerceiverModel vs lucidrains' perceiver-pytorch.

Same configuration for all three (B=8, 2048 inputs x 64 ch, 256 x 512 latents, 6 self-attention layers,
8 self heads / 1 cross head, 256 queries x 512 ch, 64 outputs), timed interleaved in one run, plus the
machine's sgemm peak measured in the same run. FLOPs are counted per model with torch's FlopCounter
(lucidrains' MLPs are 4x-wide GEGLU, so it does more work: its FLOPs are shown beside its time).

    python bench/perceiver_io.py [--quick] [--threads 2]

Prints a table, then one JSON line (last).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_json, print_table, sgemm_peak_flops, time_interleaved

from perceiver_rl import DecoderConfig, EncoderConfig, PerceiverDecoder, PerceiverEncoder, PerceiverIO
from perceiver_rl.flops import count_flops

CFG = dict(
    batch=8,
    inputs=2048,
    in_ch=64,
    latents=256,
    latent_ch=512,
    layers=6,
    self_heads=8,
    queries=256,
    query_ch=512,
    out_ch=64,
)


def ours(c: dict) -> torch.nn.Module:
    enc = PerceiverEncoder(
        EncoderConfig(
            num_input_channels=c["in_ch"],
            num_latents=c["latents"],
            num_latent_channels=c["latent_ch"],
            num_self_attention_heads=c["self_heads"],
            num_self_attends_per_block=c["layers"],
        )
    )
    dec = PerceiverDecoder(
        DecoderConfig(
            num_latent_channels=c["latent_ch"], num_query_channels=c["query_ch"], num_output_channels=c["out_ch"]
        )
    )
    return PerceiverIO(encoder=enc, decoder=dec)


def hf(c: dict):
    from transformers import PerceiverConfig, PerceiverModel
    from transformers.models.perceiver.modeling_perceiver import PerceiverBasicDecoder

    cfg = PerceiverConfig(
        d_model=c["in_ch"],
        num_latents=c["latents"],
        d_latents=c["latent_ch"],
        num_blocks=1,
        num_self_attends_per_block=c["layers"],
        num_self_attention_heads=c["self_heads"],
        num_cross_attention_heads=1,
        attention_probs_dropout_prob=0.0,
    )
    decoder = PerceiverBasicDecoder(
        cfg,
        output_num_channels=c["out_ch"],
        output_index_dims=c["queries"],
        num_channels=c["query_ch"],
        position_encoding_type="trainable",
        trainable_position_encoding_kwargs=dict(num_channels=c["query_ch"], index_dims=c["queries"]),
    )
    return PerceiverModel(cfg, decoder=decoder)


def lucidrains(c: dict):
    from perceiver_pytorch import PerceiverIO as LPerceiverIO

    return LPerceiverIO(
        depth=c["layers"],
        dim=c["in_ch"],
        queries_dim=c["query_ch"],
        logits_dim=c["out_ch"],
        num_latents=c["latents"],
        latent_dim=c["latent_ch"],
        cross_heads=1,
        latent_heads=c["self_heads"],
        cross_dim_head=c["in_ch"],
        latent_dim_head=c["latent_ch"] // c["self_heads"],
    )


def steps(c: dict) -> dict:
    """name -> zero-argument forward+backward closure."""
    torch.manual_seed(0)
    x = torch.randn(c["batch"], c["inputs"], c["in_ch"])
    q = torch.randn(c["batch"], c["queries"], c["query_ch"])
    m_ours, m_hf, m_luc = ours(c), hf(c), lucidrains(c)

    def run(fwd):
        def step():
            out = fwd()
            out.float().pow(2).mean().backward()

        return step

    return {
        "ours": run(lambda: m_ours(x, queries=q)),
        "hf": run(lambda: m_hf(inputs=x).logits),
        "lucidrains": run(lambda: m_luc(x, queries=q)),
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats and B=2 (same shapes otherwise), < 60 s")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    c = dict(CFG, batch=2) if args.quick else dict(CFG)
    repeats = args.repeats or (3 if args.quick else 10)

    fns = steps(c)
    flops = {name: count_flops(fn) for name, fn in fns.items()}
    peak = sgemm_peak_flops()
    secs = time_interleaved(fns, repeats=repeats)
    peak = max(peak, sgemm_peak_flops())  # measured before and after the contenders; keep the best

    rows = [
        dict(
            model=n,
            ms=1e3 * secs[n],
            gflop=flops[n] / 1e9,
            gflop_s=flops[n] / secs[n] / 1e9,
            speedup_of_ours=secs[n] / secs["ours"],
        )
        for n in fns
    ]
    print(f"config: {c}  threads={args.threads}  repeats={repeats}  sgemm peak {peak / 1e9:.1f} GFLOP/s")
    print_table(rows)
    result = {
        "benchmark": "perceiver_io_fwd_bwd",
        "config": c,
        "threads": args.threads,
        "ms_ours": 1e3 * secs["ours"],
        "ms_hf": 1e3 * secs["hf"],
        "ms_lucidrains": 1e3 * secs["lucidrains"],
        "gflop_ours": flops["ours"] / 1e9,
        "gflop_hf": flops["hf"] / 1e9,
        "gflop_lucidrains": flops["lucidrains"] / 1e9,
        "sgemm_peak_gflop_s": peak / 1e9,
        "speedup_vs_hf": secs["hf"] / secs["ours"],
        "speedup_vs_lucidrains": secs["lucidrains"] / secs["ours"],
        "fraction_of_sgemm_peak": flops["ours"] / secs["ours"] / peak,
    }
    print_json(result)
    return result


if __name__ == "__main__":
    main()
