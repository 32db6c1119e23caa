"""``perceiver-rl``: train, resume and evaluate experiments from YAML; list what exists.

    perceiver-rl train CONFIG.yaml [--set a.b=c ...] [--resume RUN_DIR | --init-from RUN_DIR] [--address ADDR]
    perceiver-rl pretrain CONFIG.yaml [--set a.b=c ...] [--demos scripted] [--episodes N] [--epochs E]
    perceiver-rl evaluate CHECKPOINT [--env ID] [--episodes N]
    perceiver-rl convert HF_MODEL_DIR --family learned|fourier|conv|flow --out DIR
    perceiver-rl list

Bad input (unknown key, wrong type, missing file, unknown env) exits with status 2 and one line naming
the culprit, before anything is written.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .config import ConfigError, ExperimentConfig, apply_overrides, config_from_dict, load_config

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"


def _fail(msg: str) -> int:
    print(f"perceiver-rl: error: {msg}", file=sys.stderr)
    return 2


def _resolve_config(args) -> tuple[ExperimentConfig, Path | None]:
    if args.resume:
        run_dir = Path(args.resume)
        saved = run_dir / "config.yaml"
        if not saved.is_file():
            raise ConfigError(f"--resume {run_dir}: not a run directory (no config.yaml)")
        import yaml

        data = apply_overrides(yaml.safe_load(saved.read_text()), args.set)
        return config_from_dict(data), run_dir
    if not args.config:
        raise ConfigError("train: a CONFIG.yaml (or --resume RUN_DIR) is required")
    return load_config(args.config, args.set), None


def cmd_train(args) -> int:
    from .rllib.build import algorithm_config

    try:
        if args.init_from and args.resume:
            raise ConfigError("--init-from: not with --resume (a resumed run continues from its own weights)")
        cfg, run_dir = _resolve_config(args)
        algorithm_config(cfg)  # validates algorithm, env, module before anything is written
        if run_dir is not None:
            from .checkpoint import resolve_checkpoint

            resolve_checkpoint(run_dir)
            if (run_dir / "pretrain.json").is_file():
                raise ConfigError(f"--resume {run_dir}: a pretraining run; fine-tune it with train CONFIG --init-from {run_dir}")
        init_from = None
        if args.init_from:
            from .train import init_checkpoint

            init_from = init_checkpoint(cfg, args.init_from)
    except (ConfigError, FileNotFoundError) as e:
        return _fail(str(e))

    import ray

    from .train import Trainer, new_run_dir

    owns_ray = not ray.is_initialized()
    if owns_ray:
        ray.init(address=args.address, include_dashboard=False, log_to_driver=False,
                 **({} if args.address else {"num_cpus": max(2, os.cpu_count() or 2)}))
    resume = run_dir is not None
    run_dir = run_dir or new_run_dir(cfg)
    print(f"run directory: {run_dir}", flush=True)
    trainer = Trainer(cfg, run_dir, resume=resume, init_from=init_from)
    try:
        trainer.train()
    finally:
        trainer.close()
        if owns_ray:
            ray.shutdown()
    return 0


def cmd_pretrain(args) -> int:
    """Behaviour cloning of demonstrations into a fresh run directory (``agents/pretrain.py``)."""
    from .pretrain import demo_source, pretrain
    from .rllib.build import algorithm_config

    flags = {"demos": args.demos, "episodes": args.episodes, "epochs": args.epochs}
    overrides = args.set + [f"pretrain.{k}={v}" for k, v in flags.items() if v is not None]
    try:
        cfg = load_config(args.config, overrides)
        algorithm_config(cfg)  # the config must also train: validates env, module, algorithm
        source = demo_source(cfg)
    except (ConfigError, FileNotFoundError) as e:
        return _fail(str(e))

    import dataclasses

    from .train import new_run_dir

    run_dir = new_run_dir(dataclasses.replace(cfg, name=f"{cfg.name or 'run'}-pretrain"))
    print(f"run directory: {run_dir}", flush=True)
    pretrain(cfg, source, run_dir)
    return 0


def cmd_evaluate(args) -> int:
    from .checkpoint import resolve_checkpoint
    from .evaluate import evaluate
    from .sc2le import minigame_of, reference_rows

    try:
        resolve_checkpoint(args.checkpoint)
        result = evaluate(args.checkpoint, args.env, args.episodes, seed=args.seed, explore=args.sample)
    except (ConfigError, FileNotFoundError) as e:
        return _fail(str(e))
    mode = "sampled" if args.sample else "greedy"
    print(f"{result['env']}: mean return {result['mean']:.2f} +- {result['std']:.2f} over {args.episodes} episodes ({mode} actions)")
    game = minigame_of(result["env"])
    if game:
        print(f"SC2LE reference ({game}):")
        for agent, score in reference_rows(game):
            print(f"  {agent:<28} {score:g}")
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "config"}))
    return 0


def cmd_convert(args) -> int:
    """HF / DeepMind Perceiver weights -> our model; writes ``OUT/model.safetensors`` + ``OUT/conversion.json``."""
    from safetensors.torch import save_file

    from perceiver_rl.convert import convert_checkpoint

    out = Path(args.out)
    try:
        model = convert_checkpoint(args.source, args.family, match_hf=args.match_hf, image_size=args.image_size)
    except (ValueError, FileNotFoundError, OSError) as e:
        return _fail(str(e).splitlines()[0])
    out.mkdir(parents=True, exist_ok=True)
    src = Path(args.source)
    hf_config = src / "config.json" if src.is_dir() else None
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, out / "model.safetensors")
    meta = {
        "family": args.family,
        "match_hf": args.match_hf,
        "image_size": args.image_size,
        "source": str(src),
        "hf_config": json.loads(hf_config.read_text()) if hf_config and hf_config.is_file() else {},
    }
    (out / "conversion.json").write_text(json.dumps(meta, indent=1))
    n = sum(p.numel() for p in model.parameters())
    print(f"converted {args.family} ({type(model).__name__}, {n:,} parameters) -> {out / 'model.safetensors'}")
    return 0


def cmd_list(args) -> int:
    import envs

    from .rllib.build import MODULES
    from .token_encoders import TOKEN_ENCODERS

    envs.register_all()
    print("environments:")
    for env_id in sorted(envs.ENV_IDS):
        print(f"  {env_id}")
    print("modules:  " + ", ".join(MODULES))
    print("token encoders:  " + ", ".join(TOKEN_ENCODERS))
    print("configs:")
    for f in sorted(CONFIGS_DIR.glob("*.yaml")):
        print(f"  configs/{f.name}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="perceiver-rl", description="Perceiver IO reinforcement learning.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train from a YAML experiment")
    t.add_argument("config", nargs="?", help="experiment YAML (configs/*.yaml)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. training.lr=1e-3")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    t.add_argument("--init-from", metavar="RUN_DIR", help="start from the module weights of a run (e.g. a pretrain run)")
    t.add_argument("--address", default=None, help="Ray cluster address (e.g. auto or HOST:6379)")
    t.set_defaults(fn=cmd_train)
    pt = sub.add_parser("pretrain", help="behaviour cloning of demonstrations (before train --init-from)")
    pt.add_argument("config", help="experiment YAML (configs/*.yaml)")
    pt.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    pt.add_argument("--demos", default=None, help="demonstration source (default: pretrain.demos, scripted)")
    pt.add_argument("--episodes", type=int, default=None, help="demonstration episodes (pretrain.episodes)")
    pt.add_argument("--epochs", type=int, default=None, help="passes over the demonstrations (pretrain.epochs)")
    pt.set_defaults(fn=cmd_pretrain)
    e = sub.add_parser("evaluate", help="run episodes with a checkpoint's policy")
    e.add_argument("checkpoint", help="a checkpoint directory or a run directory (its latest checkpoint)")
    e.add_argument("--env", default=None, help="env id (default: the run's env)")
    e.add_argument("--episodes", type=int, default=10)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--sample", action="store_true", help="sample actions from the policy instead of the greedy ones")
    e.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    e.set_defaults(fn=cmd_evaluate)
    c = sub.add_parser("convert", help="load HF / DeepMind Perceiver weights into our task heads")
    c.add_argument("source", help="an HF model directory (model.safetensors / pytorch_model.bin + config.json) or a weights file")
    c.add_argument("--family", required=True, help="learned | fourier | conv | flow")
    c.add_argument("--match-hf", action="store_true", help="reproduce HF's outputs where HF and DeepMind differ")
    c.add_argument("--image-size", type=int, default=None, help="build the classifier for N x N inputs")
    c.add_argument("--out", required=True, help="output directory")
    c.set_defaults(fn=cmd_convert)
    ls = sub.add_parser("list", help="environments, encoders and configs")
    ls.set_defaults(fn=cmd_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # RLlib's deprecation / "new API stack" notices are noise on a command line (and would break the
    # one-line error promise); real errors still surface as exceptions. `import ray` sets the "ray.rllib"
    # level to WARN, so it comes first.
    import ray  # noqa: F401

    for name in ("ray.rllib", "ray._common.deprecation"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
