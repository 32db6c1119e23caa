"""Forward+backward of our ImageClassifier and OpticalFlow vs transformers' on the same config and weights.

The HF model is built with random weights (``PerceiverForImageClassificationConvProcessing`` /
``PerceiverForOpticalFlow``), converted with ``perceiver_rl.convert`` (HF-compatible switches), checked
for equal outputs, then both are timed interleaved. FLOPs per step come from torch's FlopCounter.

    python bench/tasks.py [--quick] [--threads 1]

Full: the paper's ImageNet conv model (224x224, 512x1024 latents, 8x6 self-attention layers, B=1) and
the paper's flow trunk (2048x512 latents, 24 layers, 16 heads) at 96x128 frames (B=1; the paper's
368x496 does not fit the time of a CPU run). ``--quick`` (< 60 s): the same families scaled down.
Prints a table, then one JSON line (last).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_json, print_table, time_interleaved

from perceiver_rl.convert import FAMILIES, config_from_hf, load_hf_state_dict
from perceiver_rl.flops import count_flops
from perceiver_rl.flow import flow_patches

PAPER_IMAGENET = dict(
    num_latents=512,
    d_latents=1024,
    num_blocks=8,
    num_self_attends_per_block=6,
    num_cross_attention_heads=1,
    num_self_attention_heads=8,
    image_size=224,
    num_labels=1000,
)
PAPER_FLOW = dict(
    num_latents=2048,
    d_latents=512,
    num_blocks=1,
    num_self_attends_per_block=24,
    num_cross_attention_heads=1,
    num_self_attention_heads=16,
    train_size=[96, 128],
)
QUICK_IMAGENET = dict(
    PAPER_IMAGENET, num_latents=128, d_latents=256, num_blocks=2, num_self_attends_per_block=2, image_size=64
)
QUICK_FLOW = dict(
    PAPER_FLOW,
    num_latents=128,
    d_latents=128,
    num_self_attends_per_block=4,
    num_self_attention_heads=4,
    train_size=[32, 48],
)


def build_pair(family: str, hf_kwargs: dict) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(HF model with random weights, ours with the same weights), both in train mode."""
    from transformers import PerceiverConfig
    from transformers.models.perceiver import modeling_perceiver

    torch.manual_seed(0)
    cfg = PerceiverConfig(**hf_kwargs, attention_probs_dropout_prob=0.0)
    hf = getattr(modeling_perceiver, FAMILIES[family].hf_class)(cfg)
    ours = FAMILIES[family].build(config_from_hf(family, cfg.to_dict(), match_hf=True))
    return hf, load_hf_state_dict(ours, hf.state_dict())


def task_inputs(family: str, hf: torch.nn.Module, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(HF input, our input)."""
    if family == "flow":
        frames = torch.randn(batch, 2, 3, *hf.config.train_size)
        return flow_patches(frames), frames
    images = torch.randn(batch, 3, hf.config.image_size, hf.config.image_size)
    return images, images


def fwd_bwd(fwd):
    def step():
        fwd().float().pow(2).mean().backward()

    return step


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="scaled-down configs, B=2, 3 repeats (< 60 s)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    tasks = {"classifier_conv": ("conv", QUICK_IMAGENET if args.quick else PAPER_IMAGENET),
             "flow": ("flow", QUICK_FLOW if args.quick else PAPER_FLOW)}  # fmt: skip
    batch, repeats = (2, 3) if args.quick else (1, args.repeats or 3)
    repeats = args.repeats or repeats

    rows, result = [], {"benchmark": "tasks_fwd_bwd", "quick": args.quick, "threads": args.threads, "batch": batch}
    for task, (family, hf_kwargs) in tasks.items():
        hf, ours = build_pair(family, hf_kwargs)
        hf_in, our_in = task_inputs(family, hf, batch)
        with torch.no_grad():
            diff = (hf.eval()(inputs=hf_in).logits - ours.eval()(our_in)).abs().max().item()
        hf.train(), ours.train()
        fns = {
            "ours": fwd_bwd(lambda ours=ours, our_in=our_in: ours(our_in)),
            "hf": fwd_bwd(lambda hf=hf, hf_in=hf_in: hf(inputs=hf_in).logits),
        }
        flops = {name: count_flops(fn) for name, fn in fns.items()}
        secs = time_interleaved(fns, repeats=repeats)
        for name in fns:
            rows.append(dict(task=task, model=name, ms=1e3 * secs[name], gflop=flops[name] / 1e9,
                             gflop_s=flops[name] / secs[name] / 1e9, speedup_of_ours=secs[name] / secs["ours"],
                             max_abs_diff=diff))  # fmt: skip
        result[task] = dict(
            hf_config=hf_kwargs, ms_ours=1e3 * secs["ours"], ms_hf=1e3 * secs["hf"], gflop_ours=flops["ours"] / 1e9,
            gflop_hf=flops["hf"] / 1e9, speedup_vs_hf=secs["hf"] / secs["ours"], max_abs_diff=diff,
            params=sum(t.numel() for t in ours.parameters()),
        )  # fmt: skip
    print(f"threads={args.threads}  batch={batch}  repeats={repeats}  quick={args.quick}")
    print_table(rows)
    print_json(result)
    return result


if __name__ == "__main__":
    main()
