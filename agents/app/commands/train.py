"""``perceiver-rl train CONFIG.yaml [--set a.b=c ...] [--resume RUN_DIR | --init-from RUN_DIR] [--address ADDR]``:
PPO / APPO on a YAML experiment (the loop: :class:`agents.app.train.Trainer`). Everything that can be checked
without starting Ray is checked first: the config, the env, building the module once, the checkpoint to resume
or initialise from."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .common import ConfigError, fail, in_ray_session, quiet_ray


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    t = sub.add_parser("train", help="train from a YAML experiment")
    t.add_argument("config", nargs="?", help="experiment YAML (configs/*.yaml)")
    t.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key, e.g. training.lr=1e-3"
    )
    t.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    t.add_argument(
        "--init-from", metavar="RUN_DIR", help="start from the module weights of a run (e.g. a pretrain run)"
    )
    t.add_argument("--address", default=None, help="Ray cluster address (e.g. auto or HOST:6379)")
    return t


def _resolve_config(args: argparse.Namespace):
    """The experiment to train and, for ``--resume``, the run directory it continues."""
    from ...experiment.loader import load_config, load_saved_config

    if args.resume:
        run_dir = Path(args.resume)
        saved = run_dir / "config.yaml"
        if not saved.is_file():
            raise ConfigError(f"--resume {run_dir}: not a run directory (no config.yaml)")
        return load_saved_config(saved, args.set), run_dir
    if not args.config:
        raise ConfigError("train: a CONFIG.yaml (or --resume RUN_DIR) is required")
    return load_config(args.config, args.set), None


def _finished(cfg, run_dir: Path) -> str | None:
    """The stop criterion that the run in ``run_dir`` already met at its latest checkpoint (None: it goes on)."""
    from ...experiment.checkpoint import load_checkpoint, resolve_checkpoint
    from ..train import last_mean_return, stop_reason

    counters = load_checkpoint(resolve_checkpoint(run_dir))[0]
    reason = stop_reason(cfg.stop, counters, last_mean_return(run_dir, counters.iteration), elapsed=0.0)
    return reason and f"{reason} at iteration {counters.iteration} (env steps {counters.env_steps:,})"


def run(args: argparse.Namespace) -> int:
    try:
        if args.init_from and args.resume:
            raise ConfigError("--init-from: not with --resume (a resumed run continues from its own weights)")
        cfg, run_dir = _resolve_config(args)  # type / range errors come before Ray is imported
        if run_dir is not None:
            from ...experiment.run_lock import lock_run_dir

            lock_run_dir(run_dir, "--resume")  # held until this process ends: one writer per run directory
            done = None if (run_dir / "pretrain.json").is_file() else _finished(cfg, run_dir)
            if done:
                print(f"{run_dir}: already finished ({done}); nothing to train (raise the stop criterion with --set)")
                return 0
        quiet_ray()
        from ...experiment.run_dir import check_runs_dir, new_run_dir
        from ...rllib.build import check_experiment
        from ..train import Trainer, checked_checkpoint

        if run_dir is None:
            check_runs_dir(cfg)
        elif (run_dir / "pretrain.json").is_file():
            raise ConfigError(
                f"--resume {run_dir}: a pretraining run; fine-tune it with train CONFIG --init-from {run_dir}"
            )
        else:
            checked_checkpoint(cfg, run_dir, "--resume", resume=True)
        init_from = checked_checkpoint(cfg, args.init_from, "--init-from") if args.init_from else None
        check_experiment(cfg)  # algorithm, env, RLlib's checks, the module built once
    except ConfigError as e:
        return fail(str(e))

    def setup() -> Trainer:  # no cluster at --address, runs_dir not writable, an optimizer state that does not fit
        if run_dir is not None:
            print(f"run directory: {run_dir}", flush=True)
            return Trainer(cfg, run_dir, resume=True, init_from=init_from)
        new = new_run_dir(cfg)
        try:
            trainer = Trainer(cfg, new, init_from=init_from)
        except BaseException:  # what fails after Ray started leaves no run directory behind
            from ...experiment.run_lock import unlock_run_dir

            unlock_run_dir(new)
            shutil.rmtree(new, ignore_errors=True)
            raise
        print(f"run directory: {new}", flush=True)
        return trainer

    def work(trainer: Trainer) -> int:
        from ...experiment.checkpoint import DivergedError
        from ..train import StalledError

        try:
            trainer.train()
        except (DivergedError, StalledError) as e:  # NaN / inf weights, or nothing sampled: latest kept as it was
            return fail(str(e))
        except Exception as e:
            from ...rllib.faults import gave_up

            crashing = gave_up(e)  # an env that never steps: one line, not RLlib's tracebacks
            if crashing is None:
                raise
            return fail(f"{crashing}; training stopped")
        finally:
            trainer.close()
        return 0

    return in_ray_session(args.address, setup, work)
