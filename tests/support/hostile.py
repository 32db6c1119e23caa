"""Running ``perceiver-rl`` as a hostile user would: the one-line refusal every user error must end in."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from agents.app.cli import CONFIGS_DIR, main
from support.cli import snapshot

CARTPOLE = str(CONFIGS_DIR / "cartpole_perceiver.yaml")
CLI = str(Path(sys.executable).with_name("perceiver-rl"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def refused(cwd: Path, args: list[str], culprit: str, *, process: bool = False) -> str:
    """Run ``perceiver-rl *args`` in ``cwd`` (in-process through ``main``, or as a subprocess of the console script);
    assert exit 2, one stderr line containing ``culprit`` and an unchanged ``cwd``; return the line."""
    before = snapshot(cwd)
    if process:
        run = subprocess.run([CLI, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)
        code, err = run.returncode, run.stderr
    else:
        code, err = _in_process(cwd, args)
    lines = err.splitlines()
    assert code == 2, err[-3000:]
    assert len(lines) == 1, err[-3000:]
    assert lines[0].startswith("perceiver-rl: error: ") and culprit in lines[0], lines[0]
    after = snapshot(cwd)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"the command changed files: {changed[:5]}"
    return lines[0]


def _in_process(cwd: Path, args: list[str]) -> tuple[int, str]:
    """``main(args)`` run in ``cwd``: (exit status, what reached stderr); argparse's exits count as returns. Both
    ``sys.stderr`` and file descriptor 2 are captured: a library's log handler bound to the process's stderr, or a
    write from C, counts as a line too, as it would for a user."""
    err, here, saved = io.StringIO(), Path.cwd(), os.dup(2)
    sys.__stderr__.flush()
    os.chdir(cwd)
    with tempfile.TemporaryFile() as fd2:
        os.dup2(fd2.fileno(), 2)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    code = main(args)
                except SystemExit as e:
                    code = e.code if isinstance(e.code, int) else 1
        finally:
            sys.__stderr__.flush()
            os.dup2(saved, 2)
            os.close(saved)
            os.chdir(here)
        fd2.seek(0)
        return code, err.getvalue() + fd2.read().decode(errors="replace")
