"""One writer per run directory: an exclusive ``flock`` on the directory itself, held until the process ends.

The lock is taken on the run directory's own file descriptor (no lock file is created, so a refused command leaves
the directory exactly as it was) and the kernel releases it when the process exits, however it exits: a crashed or
killed run never leaves it stuck. A second ``train --resume`` of the same run, while the first runs, is refused with
one :class:`RunLockedError` line before anything is read into Ray or written.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from ..nets.config_values import ConfigError

_HELD: dict[Path, int] = {}
"""Run directories this process holds (resolved path -> the locked descriptor, kept open until exit)."""


class RunLockedError(ConfigError):
    """Another process is writing to the run directory."""


def lock_run_dir(run_dir: Path, option: str = "run directory") -> None:
    """Make this process the one writer of ``run_dir`` (again: a no-op); ``RunLockedError`` naming ``option`` when
    another process holds it."""
    key = Path(run_dir).resolve()
    if key in _HELD:
        return
    fd = os.open(key, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise RunLockedError(
                f"{option} {run_dir}: another perceiver-rl process is training this run (one writer per run "
                "directory; wait for it to end or stop it)"
            ) from None
        raise
    _HELD[key] = fd


def unlock_run_dir(run_dir: Path) -> None:
    """Give up the lock of ``run_dir`` if this process holds it (e.g. before removing a directory it created)."""
    fd = _HELD.pop(Path(run_dir).resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the only descriptor of the open file description releases the flock
