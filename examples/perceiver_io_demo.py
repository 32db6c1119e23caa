"""A short Perceiver IO demo: regress, at arbitrary query points, the distance to the nearest point of a set.

Inputs are variable-size 2-D point sets (padded + key-padding mask), the output queries are Fourier features
of the query coordinates: the decoder answers one value per query, so the same model evaluates the distance
field at 16 or 1,000 points. Prints what it did.

    python examples/perceiver_io_demo.py [--steps 300]
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from perceiver_rl import DecoderConfig, EncoderConfig, PerceiverDecoder, PerceiverEncoder, PerceiverIO, fourier_features

BANDS = 8


def encode_points(p: torch.Tensor) -> torch.Tensor:
    """``(B, N, 2)`` coordinates in [-1, 1] -> ``(B, N, 2 + 2*2*BANDS)`` Fourier features."""
    b, n, _ = p.shape
    return fourier_features(p.reshape(-1, 2), BANDS, (16, 16)).reshape(b, n, -1)


def batch(b: int, max_points: int = 12, num_queries: int = 64):
    counts = torch.randint(1, max_points + 1, (b,))
    mask = torch.arange(max_points)[None] < counts[:, None]
    pts = torch.rand(b, max_points, 2) * 2 - 1
    qs = torch.rand(b, num_queries, 2) * 2 - 1
    d = torch.cdist(qs, pts).masked_fill(~mask[:, None, :], math.inf).min(-1).values
    return encode_points(pts), mask, encode_points(qs), d


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=1000)
    args = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    ch = 2 + 4 * BANDS
    model = PerceiverIO(
        encoder=PerceiverEncoder(
            EncoderConfig(
                num_input_channels=ch,
                num_latents=16,
                num_latent_channels=64,
                num_self_attention_heads=4,
                num_self_attends_per_block=2,
            )
        ),
        decoder=PerceiverDecoder(DecoderConfig(num_latent_channels=64, num_query_channels=ch, num_output_channels=1)),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x_val, m_val, q_val, d_val = batch(256)
    baseline = (d_val - d_val.mean()).pow(2).mean().item()
    print(
        f"PerceiverIO: {sum(p.numel() for p in model.parameters()):,} parameters; task: distance to the nearest of 1-12 points"
    )
    t0 = time.time()
    for step in range(1, args.steps + 1):
        x, m, q, d = batch(64)
        loss = (model(x, m, queries=q).squeeze(-1) - d).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == args.steps:
            with torch.no_grad():
                val = (model(x_val, m_val, queries=q_val).squeeze(-1) - d_val).pow(2).mean().item()
            print(
                f"step {step:4d}  train mse {loss.item():.4f}  held-out mse {val:.4f}  (predict-the-mean mse {baseline:.4f})  {time.time() - t0:.1f}s"
            )
    with torch.no_grad():
        dense = encode_points(torch.rand(1, 1000, 2) * 2 - 1)
        out = model(x_val[:1], m_val[:1], queries=dense)
    print(f"same model, 1000 output queries -> output shape {tuple(out.shape)}")


if __name__ == "__main__":
    main()
