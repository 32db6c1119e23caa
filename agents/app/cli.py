"""``perceiver-rl``: train, resume and evaluate experiments from YAML; list what exists.

    perceiver-rl train CONFIG.yaml [--set a.b=c ...] [--resume RUN_DIR | --init-from RUN_DIR] [--address ADDR]
    perceiver-rl pretrain CONFIG.yaml [--set a.b=c ...] [--demos scripted] [--episodes N] [--epochs E]
    perceiver-rl evaluate CHECKPOINT [--env ID] [--episodes N]
    perceiver-rl report RUN [--out FILE] [--episodes N] [--seed S] [--replays K]
    perceiver-rl convert HF_MODEL_DIR --family learned|fourier|conv|flow --out DIR
    perceiver-rl tune CONFIG.yaml --grid KEY=V1,V2 [--grid ...] [--set a.b=c ...] [--samples N] [--address ADDR]
    perceiver-rl list

Each command is one module of :mod:`agents.app.commands` (``add_parser``, ``run``); this module only assembles
them. Bad input (unknown key, wrong type, out-of-range value, missing or corrupt file, unknown env, weights that
do not fit) exits with status 2 and one line on stderr naming the culprit, before anything is written
(docs/cli.md, "Errors").
"""

from __future__ import annotations

import argparse
import os
import sys

from .commands import convert, evaluate, pretrain, report, train, tune
from .commands import list as list_command
from .commands.common import CONFIGS_DIR, Parser

COMMANDS = (train, pretrain, evaluate, report, convert, tune, list_command)
"""The command modules, in the order ``--help`` shows them."""


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="perceiver-rl", description="Perceiver IO reinforcement learning.")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub).set_defaults(run=command.run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # e.g. `perceiver-rl list | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


__all__ = ["CONFIGS_DIR", "COMMANDS", "main", "parser"]

if __name__ == "__main__":
    sys.exit(main())
