"""``perceiver-rl``: train, resume and evaluate experiments from YAML; list what exists.

    perceiver-rl train CONFIG.yaml [--set a.b=c ...] [--resume RUN_DIR | --init-from RUN_DIR] [--address ADDR]
    perceiver-rl pretrain CONFIG.yaml [--set a.b=c ...] [--demos scripted] [--episodes N] [--epochs E]
    perceiver-rl evaluate CHECKPOINT [--env ID] [--episodes N]
    perceiver-rl tune CONFIG.yaml --grid KEY=V1,V2 [--grid ...] [--set a.b=c ...] [--samples N] [--address ADDR]
    perceiver-rl convert HF_MODEL_DIR --family learned|fourier|conv|flow --out DIR
    perceiver-rl list

Bad input (unknown key, wrong type, out-of-range value, missing or corrupt file, unknown env, weights that
do not fit) exits with status 2 and one line on stderr naming the culprit, before anything is written
(docs/cli.md, "Errors"). Everything is checked that can be without starting Ray: the config, the env,
building the module once, the checkpoint to resume or initialise from.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Callable, TypeVar

from .config import ConfigError, ExperimentConfig, first_line, load_config, load_saved_config

T = TypeVar("T")

CONFIGS_DIR = Path(__file__).resolve().parents[2] / "configs"


def _fail(msg: str) -> int:
    """The one stderr line of a user-caused failure; returns exit status 2."""
    line = msg.strip().splitlines()[0] if msg.strip() else "failed"
    print(f"perceiver-rl: error: {line if len(line) <= 600 else line[:600] + ' ...'}", file=sys.stderr)
    return 2


def _quiet_ray() -> None:
    """Silence RLlib's deprecation / "new API stack" notices: noise on a command line, and they would break the
    one-line error promise (real errors still surface as exceptions). Called by each command before it imports
    RLlib; ``import ray`` sets the "ray.rllib" level to WARN, so it comes first. Commands that fail on the config
    alone never import Ray."""
    import ray  # noqa: F401

    for name in ("ray.rllib", "ray._common.deprecation"):
        logging.getLogger(name).setLevel(logging.ERROR)


class _Parser(argparse.ArgumentParser):
    """argparse with the same one-line error as every other failure (no usage block; ``-h`` shows usage)."""

    def error(self, message: str):
        self.exit(2, f"perceiver-rl: error: {message.splitlines()[0]}\n")


def _at_least(minimum: int):
    """argparse type: an int >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an int >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an int >= {minimum}, got {value}")
        return value

    return parse


def _resolve_config(args) -> tuple[ExperimentConfig, Path | None]:
    if args.resume:
        run_dir = Path(args.resume)
        saved = run_dir / "config.yaml"
        if not saved.is_file():
            raise ConfigError(f"--resume {run_dir}: not a run directory (no config.yaml)")
        return load_saved_config(saved, args.set), run_dir
    if not args.config:
        raise ConfigError("train: a CONFIG.yaml (or --resume RUN_DIR) is required")
    return load_config(args.config, args.set), None


def cmd_train(args) -> int:
    try:
        if args.init_from and args.resume:
            raise ConfigError("--init-from: not with --resume (a resumed run continues from its own weights)")
        cfg, run_dir = _resolve_config(args)  # type / range errors come before Ray is imported
        _quiet_ray()
        from .train import check_runs_dir, checked_checkpoint

        if run_dir is None:
            check_runs_dir(cfg)
        elif (run_dir / "pretrain.json").is_file():
            raise ConfigError(f"--resume {run_dir}: a pretraining run; fine-tune it with train CONFIG --init-from {run_dir}")
        else:
            checked_checkpoint(cfg, run_dir, "--resume", resume=True)
        init_from = checked_checkpoint(cfg, args.init_from, "--init-from") if args.init_from else None
        from ..rllib.build import check_experiment

        check_experiment(cfg)  # algorithm, env, RLlib's checks, the module built once
    except ConfigError as e:
        return _fail(str(e))

    from .train import Trainer, new_run_dir

    def setup() -> "Trainer":  # no cluster at --address, runs_dir not writable, an optimizer state that does not fit
        run_dir_ = run_dir or new_run_dir(cfg)
        print(f"run directory: {run_dir_}", flush=True)
        return Trainer(cfg, run_dir_, resume=run_dir is not None, init_from=init_from)

    def work(trainer: "Trainer") -> int:
        try:
            trainer.train()
        finally:
            trainer.close()
        return 0

    return in_ray_session(args.address, setup, work)


def in_ray_session(address: str | None, setup: Callable[[], T], work: Callable[[T], int]) -> int:
    """Run one command in a Ray session: start Ray (or join the cluster at ``address``; an already initialised Ray
    is used as it is and left running), ``state = setup()``, then ``work(state)``'s exit code. A ``ConfigError``
    from starting Ray or from ``setup`` is the user's: one line, exit 2, Ray shut down again. Errors in ``work``
    propagate (a ``ConfigError`` met while training is not a bad command line); Ray is shut down either way."""
    import ray

    owns_ray = not ray.is_initialized()
    try:
        if owns_ray:
            _start_ray(address)
        state = setup()
    except ConfigError as e:
        if owns_ray and ray.is_initialized():
            ray.shutdown()
        return _fail(str(e))
    try:
        return work(state)
    finally:
        if owns_ray:
            ray.shutdown()


def _start_ray(address: str | None) -> None:
    """``ray.init`` (a local instance, or the cluster at ``address``); ``ConfigError`` naming ``--address`` when no
    cluster answers there (checked with one TCP connection first: Ray itself would retry for minutes)."""
    import ray

    if address and address not in ("auto", "local") and "://" not in address:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"--address {address}: expected auto or HOST:PORT")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as e:
            raise ConfigError(f"--address {address}: no Ray cluster answers there ({e.strerror or e})") from None
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 **({} if address else {"num_cpus": max(2, os.cpu_count() or 2)}))  # fmt: skip
    except (ConnectionError, ValueError) as e:
        raise ConfigError(f"--address {address}: {first_line(e)}") from None


def cmd_pretrain(args) -> int:
    """Behaviour cloning of demonstrations into a fresh run directory (``agents/app/pretrain.py``)."""
    flags = {"demos": args.demos, "episodes": args.episodes, "epochs": args.epochs}
    overrides = args.set + [f"pretrain.{k}={v}" for k, v in flags.items() if v is not None]
    try:
        cfg = load_config(args.config, overrides)
        _quiet_ray()
        from .pretrain import demo_source, pretrain
        from ..rllib.build import check_experiment

        source = demo_source(cfg)  # pretrain's own needs first: demo source, alphastar module
        check_experiment(cfg)  # the config must also train: env, module, algorithm
        from .train import check_runs_dir

        check_runs_dir(cfg)
    except ConfigError as e:
        return _fail(str(e))

    import dataclasses

    from .train import new_run_dir

    try:
        run_dir = new_run_dir(dataclasses.replace(cfg, name=f"{cfg.name or 'run'}-pretrain"))
    except ConfigError as e:
        return _fail(str(e))
    print(f"run directory: {run_dir}", flush=True)
    pretrain(cfg, source, run_dir)
    return 0


def cmd_evaluate(args) -> int:
    _quiet_ray()
    from .evaluate import evaluate
    from .sc2le import minigame_of, reference_rows

    try:
        result = evaluate(args.checkpoint, args.env, args.episodes, seed=args.seed, explore=args.sample)
    except ConfigError as e:
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

    from perceiver_rl.convert import read_hf_config

    out = Path(args.out)
    src = Path(args.source)
    try:
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out}: exists and is not a directory")
        model = convert_checkpoint(src, args.family, match_hf=args.match_hf, image_size=args.image_size)
        hf_config = read_hf_config(src / "config.json") if src.is_dir() and (src / "config.json").is_file() else {}
    except (ValueError, OSError) as e:
        return _fail(str(e))
    meta = {"family": args.family, "match_hf": args.match_hf, "image_size": args.image_size, "source": str(src),
            "hf_config": hf_config}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    for name, write in (
        ("model.safetensors", lambda f: save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f)),
        ("conversion.json", lambda f: f.write_text(json.dumps(meta, indent=1))),
    ):
        tmp = out / f".{name}.tmp"
        write(tmp)
        os.replace(tmp, out / name)  # never a half-written file under the final name
    n = sum(p.numel() for p in model.parameters())
    print(f"converted {args.family} ({type(model).__name__}, {n:,} parameters) -> {out / 'model.safetensors'}")
    return 0


def cmd_list(args) -> int:
    _quiet_ray()
    import envs

    from ..nets.encoders import ENTITY_ENCODERS
    from ..nets.heads import HEAD_TORSOS
    from ..rllib.build import MODULES

    envs.register_all()
    print("environments:")
    for env_id in sorted(envs.ENV_IDS):
        print(f"  {env_id}")
    print("modules:  " + ", ".join(MODULES))
    print("entity encoders:  " + ", ".join(ENTITY_ENCODERS))
    print("heads:  " + ", ".join(HEAD_TORSOS))
    print("configs:")
    for f in sorted(CONFIGS_DIR.glob("*.yaml")):
        print(f"  configs/{f.name}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="perceiver-rl", description="Perceiver IO reinforcement learning.")
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
    e.add_argument("--episodes", type=_at_least(1), default=10)
    e.add_argument("--seed", type=_at_least(0), default=0)
    e.add_argument("--sample", action="store_true", help="sample actions from the policy instead of the greedy ones")
    e.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    e.set_defaults(fn=cmd_evaluate)
    c = sub.add_parser("convert", help="load HF / DeepMind Perceiver weights into our task heads")
    c.add_argument("source", help="an HF model directory (model.safetensors / pytorch_model.bin + config.json) or a weights file")
    c.add_argument("--family", required=True, help="learned | fourier | conv | flow")
    c.add_argument("--match-hf", action="store_true", help="reproduce HF's outputs where HF and DeepMind differ")
    c.add_argument("--image-size", type=_at_least(1), default=None, help="build the classifier for N x N inputs")
    c.add_argument("--out", required=True, help="output directory")
    c.set_defaults(fn=cmd_convert)
    from .tune import add_parser as add_tune_parser

    add_tune_parser(sub)
    ls = sub.add_parser("list", help="environments, encoders and configs")
    ls.set_defaults(fn=cmd_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except BrokenPipeError:  # e.g. `perceiver-rl list | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
