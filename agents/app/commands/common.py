"""What the ``perceiver-rl`` commands share: the one stderr line of a user-caused failure, argparse with the same
line, option types, quieting RLlib's notices, and the Ray session a command runs in. Imports neither torch nor
Ray at the top (``--help`` stays fast)."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ...nets.config_values import ConfigError, first_line

T = TypeVar("T")

CONFIGS_DIR = Path(__file__).resolve().parents[3] / "configs"
"""The experiments shipped with the repository (``perceiver-rl list`` shows them)."""


def fail(msg: str) -> int:
    """The one stderr line of a user-caused failure; returns exit status 2."""
    line = msg.strip().splitlines()[0] if msg.strip() else "failed"
    print(f"perceiver-rl: error: {line if len(line) <= 600 else line[:600] + ' ...'}", file=sys.stderr)
    return 2


class Parser(argparse.ArgumentParser):
    """argparse with the same one-line error as every other failure (no usage block; ``-h`` shows usage)."""

    def error(self, message: str):
        self.exit(2, f"perceiver-rl: error: {message.splitlines()[0]}\n")


def at_least(minimum: int) -> Callable[[str], int]:
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


def quiet_ray() -> None:
    """Silence RLlib's deprecation / "new API stack" notices: noise on a command line, and they would break the
    one-line error promise (real errors still surface as exceptions). Called by each command before it imports
    RLlib, and by Tune's trials; ``import ray`` sets the "ray.rllib" level to WARN, so it comes first. Commands
    that fail on the config alone never import Ray."""
    import ray  # noqa: F401

    for name in ("ray.rllib", "ray._common.deprecation"):
        logging.getLogger(name).setLevel(logging.ERROR)


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
        return fail(str(e))
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
        # logging_level: Ray's INFO / WARNING lines (the local instance started, token authentication, gputil) would
        # precede, and so break, the one line of an error met after Ray started; its errors still show
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                 **({} if address else {"num_cpus": max(2, os.cpu_count() or 2)}))  # fmt: skip
    except (ConnectionError, ValueError) as e:
        culprit = f"--address {address}" if address else "ray: a local Ray instance could not start"
        raise ConfigError(f"{culprit}: {first_line(e)}") from None
