"""Running a hyper-parameter sweep (the plan of :mod:`agents.app.sweep`) with Ray Tune, one run directory per
trial; the ``perceiver-rl tune`` command is :mod:`agents.app.commands.tune`.

Each trial is a ``perceiver-rl train`` run (:class:`agents.app.train.Trainer`) inside a Tune function trainable, so
it leaves the usual layout in ``<runs_dir>/<name>-tune-<timestamp>/<trial>-<timestamp>/`` (config.yaml,
progress.jsonl, tb/, checkpoints/, cluster.json, plus train.log, the progress lines) and reports each
iteration's progress row to Tune. A trial asks Tune for the CPUs its Algorithm uses (RLlib's own
``default_resource_request``: 1 for the learner and local sampling, plus 1 per EnvRunner); Tune runs as many at
once as the machine or cluster has. At the end a table of the trials, best first by ``--metric`` (the last
iteration's value), is printed and written to ``results.json``.

:func:`check_trials` checks every trial before Ray starts (its config, env, RLlib's checks, the module built
once) and :func:`check_cluster_fits` that each fits the cluster: the command turns their ``ConfigError`` into one
line and exit status 2, nothing written (docs/cli.md, "Errors").
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..experiment.loader import load_saved_config
from ..nets.config_values import ConfigError
from .commands.common import quiet_ray
from .sweep import METRICS, Trial, grid_error, rank


def run_trial(params: dict) -> None:
    """Tune function trainable: train the run directory ``params["run_dir"]`` (its ``config.yaml``, written by
    the driver) to its stop criterion, reporting every progress row to Tune."""
    from ray import tune

    from .train import Trainer

    quiet_ray()  # as the command line does: RLlib's notices are noise here
    run_dir = Path(params["run_dir"])
    cfg = load_saved_config(run_dir / "config.yaml")
    with (run_dir / "train.log").open("a") as log:
        trainer = Trainer(cfg, run_dir, out=log)
        try:
            trainer.train(on_iteration=tune.report)
        finally:
            trainer.close()


def check_trials(trials: list[Trial]) -> dict[int, Any]:
    """What ``train`` checks, for every trial (``check_experiment``: env, RLlib's checks, the module built once);
    returns each trial's Tune resource request (RLlib's ``default_resource_request`` of its config)."""
    from ..experiment.run_dir import check_runs_dir
    from ..rllib.build import check_experiment

    requests = {}
    for trial in trials:
        try:
            config = check_experiment(trial.config)
        except ConfigError as e:
            raise grid_error(e, trial.overrides) from None
        requests[trial.index] = config.algo_class.default_resource_request(config)
    check_runs_dir(trials[0].config)
    return requests


def check_cluster_fits(requests: dict[int, Any]) -> None:
    """Every trial's CPUs fit the Ray cluster (else Tune would wait for them forever); ``ConfigError`` otherwise."""
    import ray

    have = ray.cluster_resources().get("CPU", 0)
    need = max(r.required_resources.get("CPU", 0) for r in requests.values())
    if need > have:
        raise ConfigError(
            f"env_runners.num_env_runners: a trial needs {need:g} CPUs (1 + 1 per EnvRunner), the Ray cluster has {have:g}"
        )


def _trial_dirs(trials: list[Trial], sweep_dir: Path) -> dict[str, Trial]:
    """Each trial's run directory under ``sweep_dir`` (named after its label; its ``config.yaml`` written)."""
    from ..experiment.run_dir import new_run_dir

    runs_dir = str(sweep_dir.absolute())  # a Tune trial runs in a directory of Tune's: no relative paths
    return {str(new_run_dir(dataclasses.replace(t.config, runs_dir=runs_dir, name=t.label))): t for t in trials}


def _progress_callback(labels: dict[str, str]):
    """A Tune callback printing one line per trial iteration (``000-lr=1e-4-... | iter    3 | env steps 6,000 |
    return 21.30``) and one when a trial ends, on the stdout of the moment (Tune pickles its callbacks; Ray is
    imported here, late)."""
    from ray.tune import Callback

    class Progress(Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            print(f"{labels[trial.config['run_dir']]} | iter {result['iteration']:4d} | env steps {result['env_steps']:>9,} | "
                  f"return {result['episode_return_mean']:8.2f}", flush=True)  # fmt: skip

        def on_trial_complete(self, iteration, trials, trial, **info):
            print(f"{labels[trial.config['run_dir']]} | done", flush=True)

        def on_trial_error(self, iteration, trials, trial, **info):
            print(f"{labels[trial.config['run_dir']]} | FAILED (see its train.log, and error.txt under {trial.local_path})",
                  flush=True)  # fmt: skip

    return Progress()


_TUNE_ENV = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "RAY_AIR_NEW_OUTPUT": "0"}
"""While Tune runs: no CSV / TensorBoard loggers of its own (each run directory holds progress and TensorBoard;
Tune's result.json stays), and its legacy reporter, which ``verbose=0`` silences (the lines are ours)."""


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` updated with ``values`` inside the block, restored after."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_sweep(trials: list[Trial], requests: dict[int, Any], sweep_dir: Path, metric: str, mode: str) -> list[dict]:
    """Run ``trials`` with Ray Tune (Ray already initialised); returns one row per trial, best first."""
    from ray import tune
    from ray.tune.logger import JsonLoggerCallback

    dirs = _trial_dirs(trials, sweep_dir)
    pgf = {d: requests[t.index] for d, t in dirs.items()}
    labels = {d: Path(d).name for d in dirs}
    tuner = tune.Tuner(
        tune.with_resources(run_trial, lambda params: pgf[params["run_dir"]]),
        param_space={"run_dir": tune.grid_search(list(dirs))},
        tune_config=tune.TuneConfig(
            num_samples=1, reuse_actors=False, trial_dirname_creator=lambda t: labels[t.config["run_dir"]]
        ),
        run_config=tune.RunConfig(
            name="tune",
            storage_path=str(sweep_dir.absolute()),
            verbose=0,
            callbacks=[_progress_callback(labels), JsonLoggerCallback()],
            failure_config=tune.FailureConfig(max_failures=0),
        ),  # fmt: skip
    )
    with _environ(_TUNE_ENV):
        grid = tuner.fit()
    rows = []
    for result in grid:
        run_dir = result.config["run_dir"]
        trial, metrics = dirs[run_dir], result.metrics or {}
        row = {"trial": labels[run_dir], **dict(trial.overrides), "status": "error" if result.error else "done"}
        row.update({k: metrics.get(k) for k in ("iteration", "env_steps", *METRICS)})
        row["run_dir"] = run_dir
        rows.append(row)
    rows = rank(rows, metric, mode)
    (sweep_dir / "results.json").write_text(json.dumps(rows, indent=1))
    return rows


__all__ = ["check_cluster_fits", "check_trials", "run_sweep", "run_trial"]
