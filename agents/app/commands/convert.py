"""``perceiver-rl convert HF_MODEL_DIR --family learned|fourier|conv|flow --out DIR [--match-hf] [--image-size N]``:
HF / DeepMind Perceiver weights -> our task heads (:mod:`perceiver_rl.convert`); writes ``OUT/model.safetensors``
and ``OUT/conversion.json``, each through a temporary file."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .common import at_least, fail


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    c = sub.add_parser("convert", help="load HF / DeepMind Perceiver weights into our task heads")
    c.add_argument(
        "source", help="an HF model directory (model.safetensors / pytorch_model.bin + config.json) or a weights file"
    )
    c.add_argument("--family", required=True, help="learned | fourier | conv | flow")
    c.add_argument("--match-hf", action="store_true", help="reproduce HF's outputs where HF and DeepMind differ")
    c.add_argument("--image-size", type=at_least(1), default=None, help="build the classifier for N x N inputs")
    c.add_argument("--out", required=True, help="output directory")
    return c


def run(args: argparse.Namespace) -> int:
    from perceiver_rl.convert import convert_checkpoint, read_hf_config

    out = Path(args.out)
    src = Path(args.source)
    try:
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out}: exists and is not a directory")
        model = convert_checkpoint(src, args.family, match_hf=args.match_hf, image_size=args.image_size)
        hf_config = read_hf_config(src / "config.json") if src.is_dir() and (src / "config.json").is_file() else {}
    except (ValueError, OSError) as e:
        return fail(str(e))
    meta = {"family": args.family, "match_hf": args.match_hf, "image_size": args.image_size, "source": str(src),
            "hf_config": hf_config}  # fmt: skip
    from safetensors import SafetensorError

    made = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write(out, model, meta)
    except (OSError, SafetensorError) as e:  # unwritable, full disk: one line, and no directory of ours left behind
        for tmp in out.glob(".*.tmp") if out.is_dir() else ():
            if tmp.is_file():
                tmp.unlink()
        for p in made:
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        reason = getattr(e, "strerror", None) or str(e).removeprefix("Error while serializing: ")
        return fail(f"--out {out}: cannot write there ({reason})")
    n = sum(p.numel() for p in model.parameters())
    print(f"converted {args.family} ({type(model).__name__}, {n:,} parameters) -> {out / 'model.safetensors'}")
    return 0


def _write(out: Path, model, meta: dict) -> None:
    """``model.safetensors`` and ``conversion.json`` into ``out``, each through a temporary file."""
    from safetensors.torch import save_file

    for name, write in (
        ("model.safetensors", lambda f: save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f)),
        ("conversion.json", lambda f: f.write_text(json.dumps(meta, indent=1))),
    ):
        tmp = out / f".{name}.tmp"
        write(tmp)
        os.replace(tmp, out / name)  # never a half-written file under the final name
