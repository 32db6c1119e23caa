"""``perceiver-rl pretrain CONFIG.yaml [--set a.b=c ...] [--demos scripted] [--episodes N] [--epochs E]``:
behaviour cloning of demonstrations into a fresh run directory (:mod:`agents.app.pretrain`), before
``train --init-from``."""

from __future__ import annotations

import argparse
import dataclasses

from .common import ConfigError, fail, quiet_ray


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    pt = sub.add_parser("pretrain", help="behaviour cloning of demonstrations (before train --init-from)")
    pt.add_argument("config", help="experiment YAML (configs/*.yaml)")
    pt.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    pt.add_argument("--demos", default=None, help="demonstration source (default: pretrain.demos, scripted)")
    pt.add_argument("--episodes", type=int, default=None, help="demonstration episodes (pretrain.episodes)")
    pt.add_argument("--epochs", type=int, default=None, help="passes over the demonstrations (pretrain.epochs)")
    return pt


def run(args: argparse.Namespace) -> int:
    from ...experiment.loader import load_config

    flags = {"demos": args.demos, "episodes": args.episodes, "epochs": args.epochs}
    overrides = args.set + [f"pretrain.{k}={v}" for k, v in flags.items() if v is not None]
    try:
        cfg = load_config(args.config, overrides)
        quiet_ray()
        from ...experiment.run_dir import check_runs_dir, new_run_dir
        from ...rllib.build import check_experiment
        from ..pretrain import demo_source, pretrain

        source = demo_source(cfg)  # pretrain's own needs first: demo source, alphastar module
        check_experiment(cfg)  # the config must also train: env, module, algorithm
        check_runs_dir(cfg)
        run_dir = new_run_dir(dataclasses.replace(cfg, name=f"{cfg.name or 'run'}-pretrain"))
    except ConfigError as e:
        return fail(str(e))
    print(f"run directory: {run_dir}", flush=True)
    pretrain(cfg, source, run_dir)
    return 0
