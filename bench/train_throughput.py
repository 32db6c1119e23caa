"""Training throughput of committed configs (issue 24): env steps/s of ``perceiver-rl train``'s loop, where the wall
time goes, and the same measured for a git revision side by side.

Each measurement is a fresh process (``--worker``) that trains one config for ``--warmup`` + ``--iterations``
iterations through the command line's own ``Trainer`` (the tree under test on ``PYTHONPATH``, its own configs) and
prints one JSON line. Only the iterations after the warm-up count (the first one pays for tracing and allocation).
Figures per config:

- ``env_steps_per_s``: env steps sampled / wall seconds of the counted iterations (what a user waits for);
- ``learner_samples_per_s``: module steps trained (epochs x batch) / seconds of the learner update;
- ``env_runner_steps_per_s``: env steps sampled / seconds of sampling (the EnvRunners' own ``sample()`` time where
  they are remote, e.g. overlapped with the learner: ``env_runners.overlap``);
- the breakdown of an iteration's wall time: sampling (module inference, env stepping, the env-to-module and
  module-to-env connectors, the rest: episode bookkeeping), the learner connector (GAE, batching), forward + loss,
  backward, clipping + optimizer step, the rest of the learner update, weight sync, the rest of the iteration;
  timed by wrapping those methods of the local EnvRunner and the local learner. With remote EnvRunners (every
  committed minigame config: one, overlapped) the sampling parts are not split and ``sampling_rest`` is the time
  the driver waits for samples: what the learner did not hide.

``--baseline REV`` measures ``git archive REV`` the same way, alternating with the working tree config by config
and round by round, so that both see the same machine; the ratio is the median's. A baseline revision that still
has a config under its old name (``sim_movetobeacon_perceiver.yaml``) is given that name.

    .venv/bin/python bench/train_throughput.py --baseline 174985f            # MoveToBeacon + DefeatRoaches
    .venv/bin/python bench/train_throughput.py --configs all --rounds 1      # every minigame, both encoders
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIGS = {  # key -> committed config; a "_t" key is the transformer twin of the key without it
    "mtb": "sim_move_to_beacon_perceiver.yaml",
    "mtb_t": "sim_move_to_beacon_transformer.yaml",
    "cms": "sim_collect_mineral_shards_perceiver.yaml",
    "cms_t": "sim_collect_mineral_shards_transformer.yaml",
    "dr": "sim_defeat_roaches_perceiver.yaml",
    "dr_t": "sim_defeat_roaches_transformer.yaml",
    "dzb": "sim_defeat_zerglings_and_banelings_perceiver.yaml",
    "dzb_t": "sim_defeat_zerglings_and_banelings_transformer.yaml",
    "fdz": "sim_find_and_defeat_zerglings_perceiver.yaml",
    "fdz_t": "sim_find_and_defeat_zerglings_transformer.yaml",
}
OLD_NAMES = {  # the names before the configs followed <env>_<policy>[_<variant>] (issue 29)
    name: name.replace(game, game.replace("_", "")) for name in CONFIGS.values()
    for game in ("move_to_beacon", "collect_mineral_shards", "defeat_roaches", "defeat_zerglings_and_banelings",
                 "find_and_defeat_zerglings") if game in name
}  # fmt: skip
TIMED = ["sampling", "inference", "env_step", "env_connectors", "learner", "learner_connector", "forward_loss",
         "backward", "optimizer", "weight_sync"]  # fmt: skip
PARTS = ["inference", "env_step", "env_connectors", "sampling_rest", "learner_connector", "forward_loss", "backward",
         "optimizer", "learner_rest", "weight_sync", "other"]  # fmt: skip


# ----------------------------------------------------------------------------------------------------- worker


def _get(d: dict, path: str, default: float = 0.0) -> float:
    for key in path.split("/"):
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return float(d)


class _Timed:
    """Stands in for a method or a callable object (a connector pipeline): calls add their wall time to
    ``totals[part]``; every other attribute is the wrapped object's."""

    def __init__(self, fn, totals: dict[str, float], part: str) -> None:
        self._fn, self._totals, self._part = fn, totals, part

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self._fn(*args, **kwargs)
        finally:
            self._totals[self._part] += time.perf_counter() - t0

    def __getattr__(self, name: str):
        return getattr(self._fn, name)


def _timed(obj: object, name: str, totals: dict[str, float], part: str) -> None:
    """Time ``obj.name`` into ``totals[part]`` (nothing if ``obj`` is None or has no such attribute)."""
    fn = getattr(obj, name, None)
    if fn is not None:
        setattr(obj, name, _Timed(fn, totals, part))


def worker(config: str, iterations: int, warmup: int, overrides: list[str]) -> dict:
    """Train ``config`` (a file of the tree on ``PYTHONPATH``) for ``warmup + iterations`` iterations; one record."""
    import io

    import ray

    if (Path.cwd() / "agents" / "experiment").is_dir():  # the tree under test is the working directory
        from agents.experiment.loader import load_config
        from agents.experiment.run_dir import new_run_dir
    else:  # revisions before the experiment layer (issue 29); not an ImportError test: the editable install's
        # finder would serve agents.experiment from the checkout it was installed from
        from agents.app.config import load_config
        from agents.app.train import new_run_dir
    from agents.app.train import Trainer

    runs = tempfile.mkdtemp(prefix="prl-bench-")
    sets = [f"stop.iterations={warmup + iterations}", "stop.env_steps=null", "stop.mean_return=null",
            f"runs_dir={runs}", "checkpoint_every=1000000"]  # fmt: skip
    cfg = load_config(config, sets + overrides)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    trainer = Trainer(cfg, new_run_dir(cfg), out=io.StringIO())
    algo = trainer.algo
    runner, learner = algo.env_runner_group.local_env_runner, getattr(algo.learner_group, "_learner", None)
    totals = dict.fromkeys(TIMED, 0.0)
    for obj, name, part in (
        (runner, "sample", "sampling"),
        (algo.env_runner_group, "fetch_ready_async_reqs", "sampling"),  # overlapped: the wait for remote samples
        (getattr(runner, "module", None), "forward_exploration", "inference"),
        (runner, "_try_env_step", "env_step"),
        (runner, "_env_to_module", "env_connectors"),
        (runner, "_module_to_env", "env_connectors"),
        (algo.learner_group, "update", "learner"),
        (learner, "_learner_connector", "learner_connector"),
        (getattr(learner, "module", None), "forward_train", "forward_loss"),
        (learner, "compute_losses", "forward_loss"),
        (learner, "compute_gradients", "backward"),
        (learner, "postprocess_gradients", "optimizer"),
        (learner, "apply_gradients", "optimizer"),
        (algo.env_runner_group, "sync_weights", "weight_sync"),
    ):
        _timed(obj, name, totals, part)
    rows: list[dict] = []
    train = algo.train

    def timed_train():
        before, t0 = dict(totals), time.perf_counter()
        result = train()
        rows.append({"wall": time.perf_counter() - t0, "result": result, **{k: totals[k] - before[k] for k in totals}})
        return result

    algo.train = timed_train
    try:
        trainer.train()
    finally:
        trainer.close()
        ray.shutdown()
        shutil.rmtree(runs, ignore_errors=True)
    counted = rows[warmup:]
    sums = {k: sum(row[k] for row in counted) for k in ["wall", *TIMED]}
    # remote EnvRunners time their own sample() calls (RLlib's smoothed seconds per call, one call an iteration)
    remote_sampling = sum(_get(row["result"], "env_runners/sample") for row in counted)
    steps = sum(_get(row["result"], "env_runners/num_env_steps_sampled") for row in counted)
    trained = sum(_get(row["result"], "learners/__all_modules__/num_module_steps_trained") for row in counted)
    share = {
        "inference": sums["inference"],
        "env_step": sums["env_step"],
        "env_connectors": sums["env_connectors"],
        "sampling_rest": sums["sampling"] - sums["inference"] - sums["env_step"] - sums["env_connectors"],
        "learner_connector": sums["learner_connector"],
        "forward_loss": sums["forward_loss"],
        "backward": sums["backward"],
        "optimizer": sums["optimizer"],
        "learner_rest": sums["learner"]
        - sum(sums[k] for k in ("learner_connector", "forward_loss", "backward", "optimizer")),
        "weight_sync": sums["weight_sync"],
        "other": sums["wall"] - sums["sampling"] - sums["learner"] - sums["weight_sync"],
    }
    return {
        "config": Path(config).name,
        "iterations": len(counted),
        "env_steps": int(steps),
        "env_steps_per_s": steps / sums["wall"],
        "learner_samples_per_s": trained / sums["learner"] if sums["learner"] else float("nan"),
        "env_runner_steps_per_s": steps / (remote_sampling or sums["sampling"] or float("nan")),
        "seconds_per_iteration": sums["wall"] / len(counted),
        "share": {k: v / sums["wall"] for k, v in share.items()},
    }


# ------------------------------------------------------------------------------------------------------- main


def measure(tree: Path, key: str, iterations: int, warmup: int, overrides: list[str]) -> dict:
    """One worker process on ``tree``'s code and config for ``key``."""
    name = CONFIGS[key]
    path = tree / "configs" / name
    if not path.is_file() and (tree / "configs" / OLD_NAMES.get(name, name)).is_file():
        path = tree / "configs" / OLD_NAMES[name]
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(path), "--iterations", str(iterations),
           "--warmup", str(warmup), *(a for o in overrides for a in ("--set", o))]  # fmt: skip
    out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=3600)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        raise SystemExit(f"train_throughput: {key} on {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def baseline_tree(rev: str, into: Path) -> Path:
    """``git archive rev`` unpacked under ``into`` (no worktree bookkeeping; removed with ``into``)."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=tar, check=True)
    return into


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", default="mtb,dr", help="comma-separated keys of CONFIGS, or 'all'")
    p.add_argument("--iterations", type=int, default=3, help="counted iterations per measurement")
    p.add_argument("--warmup", type=int, default=1, help="iterations left out at the start of each measurement")
    p.add_argument("--rounds", type=int, default=2, help="measurements per config and tree (medians reported)")
    p.add_argument("--baseline", metavar="REV", help="also measure this git revision, alternating with the tree")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (tree only)")
    p.add_argument("--worker", metavar="CONFIG", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:  # bench/envs.py would shadow the envs package: the tree under test comes from PYTHONPATH
        here = Path(__file__).resolve().parent
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
        print(json.dumps(worker(args.worker, args.iterations, args.warmup, args.set)))
        return
    keys = list(CONFIGS) if args.configs == "all" else args.configs.split(",")
    unknown = [k for k in keys if k not in CONFIGS]
    if unknown:
        raise SystemExit(f"train_throughput: --configs: unknown {unknown} (known: {', '.join(CONFIGS)})")
    with tempfile.TemporaryDirectory(prefix="prl-baseline-") as tmp:
        trees = {"tree": ROOT}
        if args.baseline:
            trees["baseline"] = baseline_tree(args.baseline, Path(tmp))
        records: dict[tuple[str, str], list[dict]] = {}
        for r in range(args.rounds):
            for key in keys:
                order = list(trees) if r % 2 == 0 else list(reversed(trees))  # alternate who goes first
                for label in order:
                    rec = measure(trees[label], key, args.iterations, args.warmup, args.set if label == "tree" else [])
                    records.setdefault((label, key), []).append(rec)
                    print(f"round {r + 1} {label:<8} {key:<6} {rec['env_steps_per_s']:7.1f} env steps/s", flush=True)
    report(records, keys, args.baseline)


def _median(recs: list[dict], field: str) -> float:
    return statistics.median(r[field] for r in recs)


def report(records: dict[tuple[str, str], list[dict]], keys: list[str], baseline: str | None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import print_json, print_table

    rows, out = [], {}
    for (label, key), recs in sorted(records.items(), key=lambda kv: (keys.index(kv[0][1]), kv[0][0])):
        share = {k: statistics.median(r["share"][k] for r in recs) for k in PARTS}
        rows.append({"tree": label, "config": key, "env steps/s": _median(recs, "env_steps_per_s"),
                     "learner samples/s": _median(recs, "learner_samples_per_s"),
                     "runner steps/s": _median(recs, "env_runner_steps_per_s"),
                     **{k: f"{100 * v:.0f}%" for k, v in share.items()}})  # fmt: skip
        prefix = "" if label == "tree" else "baseline_"
        out[f"{prefix}env_steps_per_s_{key}"] = _median(recs, "env_steps_per_s")
        out[f"{prefix}learner_samples_per_s_{key}"] = _median(recs, "learner_samples_per_s")
        out[f"{prefix}env_runner_steps_per_s_{key}"] = _median(recs, "env_runner_steps_per_s")
        out[f"{prefix}share_{key}"] = share
    print_table(rows)
    if baseline:
        out["baseline"] = baseline
        for key in keys:
            out[f"speedup_vs_baseline_{key}"] = out[f"env_steps_per_s_{key}"] / out[f"baseline_env_steps_per_s_{key}"]
    pairs = [k for k in keys if f"{k}_t" in keys]
    if pairs:
        ratios = {k: out[f"env_steps_per_s_{k}"] / out[f"env_steps_per_s_{k}_t"] for k in pairs}
        out.update({f"perceiver_vs_transformer_{k}": v for k, v in ratios.items()})
        out["perceiver_vs_transformer_min"] = min(ratios.values())
    print_json(out)


if __name__ == "__main__":
    main()
