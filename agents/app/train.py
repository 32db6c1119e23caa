"""The training loop behind ``perceiver-rl train``: progress line, TensorBoard, checkpoints, resume."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..experiment.checkpoint import (
    CheckpointError,
    Counters,
    check_regular_file,
    clean_interrupted_saves,
    fitting_state,
    load_checkpoint,
    resolve_checkpoint,
    save_checkpoint,
)
from ..experiment.config import ExperimentConfig, StopConfig, first_line
from ..experiment.run_lock import lock_run_dir, unlock_run_dir
from .tensorboard import ScalarLogger
from .train_eval import due, evaluate_in_training, film_strip


def _get(result: dict, path: str, default: float = math.nan) -> float:
    node = result
    for key in path.split("/"):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _iteration(progress_line: str) -> float:
    """The iteration of a progress.jsonl row; ``inf`` (dropped on resume) for a blank or broken one, e.g. the
    half-written last row of a killed process."""
    try:
        row = json.loads(progress_line)
        return float(row["iteration"]) if isinstance(row, dict) else math.inf
    except (ValueError, KeyError, TypeError):
        return math.inf


def _fmt_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--:--"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


MAX_IDLE_ITERATIONS = 3
"""Iterations in a row that sample no env step, after which training stops (:class:`StalledError`)."""


class StalledError(RuntimeError):
    """Training samples nothing any more (every EnvRunner gone, an env that never steps): it stops in one line."""


def stop_reason(stop: StopConfig, counters: Counters, mean_return: float, elapsed: float) -> str | None:
    """Which stop criterion ``counters`` (and this sitting's ``elapsed`` seconds, the last ``mean_return``) meet;
    None while training goes on."""
    if stop.time_s is not None and elapsed >= stop.time_s:
        return f"time >= {stop.time_s:g} s"
    if stop.env_steps is not None and counters.env_steps >= stop.env_steps:
        return f"env_steps >= {stop.env_steps:,}"
    if stop.iterations is not None and counters.iteration >= stop.iterations:
        return f"iterations >= {stop.iterations}"
    if stop.mean_return is not None and mean_return >= stop.mean_return:
        return f"mean return >= {stop.mean_return}"
    return None


def last_mean_return(run_dir: Path, iteration: int) -> float:
    """``episode_return_mean`` of the progress row of ``iteration`` (NaN when there is none)."""
    path = run_dir / "progress.jsonl"
    if not path.exists():
        return math.nan
    check_regular_file(path)
    for line in reversed(path.read_text(errors="replace").splitlines()):
        if _iteration(line) == iteration:
            value = json.loads(line).get("episode_return_mean", math.nan)
            return float(value) if isinstance(value, (int, float)) else math.nan
    return math.nan


def checked_checkpoint(cfg: ExperimentConfig, path: str | Path, option: str, *, resume: bool = False) -> Path:
    """The checkpoint of ``path`` (a run or checkpoint directory) once it is known to load into ``cfg``'s module:
    readable files, the same keys and shapes, finite weights; ``CheckpointError`` naming ``option`` otherwise.
    Builds the module once and writes nothing. ``resume``: the learner's whole state, target networks included
    where the algorithm has them; else the online weights (``--init-from``: targets start as copies)."""
    try:
        ckpt = resolve_checkpoint(path)
    except CheckpointError as e:
        raise CheckpointError(f"{option}: {e}") from None
    state = load_checkpoint(ckpt)[1]  # unreadable files fail here, before RLlib is imported
    from ..rllib.build import TARGET_NETWORK_ALGORITHMS, make_env, module_with_state

    env = make_env(cfg.env, cfg.env_config, plugins=cfg.plugins)
    try:
        targets = resume and cfg.algorithm in TARGET_NETWORK_ALGORITHMS
        module_with_state(cfg, env, state, f"{option} {path}", targets=targets)
    finally:
        env.close()
    return ckpt


def init_checkpoint(cfg: ExperimentConfig, path: str | Path) -> Path:
    """The checkpoint ``train --init-from path`` loads (``checked_checkpoint``, target networks left out)."""
    return checked_checkpoint(cfg, path, "--init-from")


def _optimizer_states(learner) -> dict[str, dict]:
    """``{name: optimizer.state_dict()}`` of every optimizer of ``learner`` (``Learner.get_optimizers_for_module``,
    public). ``name`` is RLlib's full registration name ``<module_id>_<optimizer name>`` (e.g.
    ``default_policy_default_optimizer``): the key optimizer.pt has always used, so older checkpoints resume.
    RLlib has no public accessor for that name; it is built here the way ``Learner.register_optimizer`` builds
    it, and ``Learner.get_optimizer`` accepts it back."""
    return {
        f"{module_id}_{name}": optimizer.state_dict()
        for module_id in learner.module.keys()
        for name, optimizer in learner.get_optimizers_for_module(module_id)
    }


class Trainer:
    """Owns one Algorithm and its run directory.

    ``resume``: continue ``run_dir`` from its latest checkpoint (weights, optimizer, counters).
    ``init_from``: a checkpoint (``init_checkpoint``) whose module weights replace the fresh ones before the
    first iteration (e.g. a ``perceiver-rl pretrain`` run); optimizer state and counters start fresh.
    """

    def __init__(
        self,
        cfg: ExperimentConfig,
        run_dir: Path,
        *,
        resume: bool = False,
        init_from: Path | None = None,
        out: TextIO | None = None,
    ) -> None:
        import torch

        from ..rllib.build import algorithm_config

        self.cfg, self.run_dir, self.out = cfg, run_dir, out or sys.stdout
        lock_run_dir(run_dir)  # one writer per run directory (released by close() or when the process ends)
        if resume:
            for left in clean_interrupted_saves(run_dir):
                print(f"removed {left} (a save that was interrupted)", file=out)
        torch.set_num_threads(cfg.torch_threads)
        self.algo = algorithm_config(cfg).build_algo()
        self.counters = Counters()
        resume_step = None
        if resume:
            ckpt = resolve_checkpoint(run_dir)
            self.counters, module_state, optim_state = load_checkpoint(ckpt)
            self.set_weights(module_state, optim_state)
            resume_step = self.counters.env_steps
            self._truncate_progress(self.counters.iteration)
            record_resume(run_dir, cfg, self.counters)
            print(
                f"resumed {ckpt} (iteration {self.counters.iteration}, env steps {self.counters.env_steps:,})", file=out
            )
        elif init_from is not None:
            self.init_weights(load_checkpoint(init_from)[1])
            print(f"initialised from {init_from} (module weights; optimizer and counters start fresh)", file=out)
        self.tb = ScalarLogger(run_dir / "tb", resume_step=resume_step)

    def _truncate_progress(self, iteration: int) -> None:
        """Drop progress rows a killed process wrote after the checkpoint being resumed."""
        path = self.run_dir / "progress.jsonl"
        if not path.exists():
            return
        check_regular_file(path)
        kept = [line for line in path.read_text(errors="replace").splitlines() if _iteration(line) <= iteration]
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        os.replace(tmp, path)

    # -- weights -------------------------------------------------------------------------------------
    def _on_learner(self, fn: Callable):
        """``fn(learner)`` on the Algorithm's learner, through RLlib's public ``LearnerGroup.foreach_learner``;
        its return value. ``perceiver-rl`` trains with one local learner (``num_learners=0``): ``fn`` runs in this
        process on the live learner, and what it raises propagates. With remote learners it would run on each
        (they hold the same weights) and the first one's result is returned."""
        results = list(self.algo.learner_group.foreach_learner(fn))
        for result in results:
            if not result.ok:
                raise result.get()
        return results[0].get()

    def module(self):
        """The learner's RLModule (the weights being trained; the live object with the local learner)."""
        from ray.rllib.core import DEFAULT_MODULE_ID

        return self._on_learner(lambda learner: learner.module[DEFAULT_MODULE_ID])

    def get_weights(self) -> tuple[dict, dict]:
        """(module state, optimizer states) of the learner, as ``save_checkpoint`` writes them."""
        from ray.rllib.core import DEFAULT_MODULE_ID

        def weights(learner) -> tuple[dict, dict]:
            return dict(learner.module[DEFAULT_MODULE_ID].state_dict()), _optimizer_states(learner)

        return self._on_learner(weights)

    def set_weights(self, module_state: dict, optim_state: dict) -> None:
        """Module and optimizer state of a checkpoint (resume); ``CheckpointError`` for an optimizer state that
        does not fit the learner's optimizers (the module weights were checked by ``checked_checkpoint``)."""
        from ray.rllib.core import DEFAULT_MODULE_ID

        def load(learner) -> None:
            module = learner.module[DEFAULT_MODULE_ID]
            # checked as checked_checkpoint did, and converted to the module's dtypes before loading
            module.load_state_dict(fitting_state(module, module_state, f"--resume {self.run_dir}", targets=True))
            for name, state in optim_state.items():
                try:
                    # get_optimizer takes the full registration name that _optimizer_states writes
                    learner.get_optimizer(DEFAULT_MODULE_ID, name).load_state_dict(state)
                except (KeyError, ValueError, RuntimeError, TypeError) as e:
                    raise CheckpointError(
                        f"--resume {self.run_dir}: optimizer.pt: state {name!r} does not fit the learner's optimizers "
                        f"({first_line(e)})"
                    ) from None

        self._on_learner(load)
        self.algo.env_runner_group.sync_weights(
            from_worker_or_learner_group=self.algo.learner_group, inference_only=True
        )

    def init_weights(self, module_state: dict) -> None:
        """Module weights only (``--init-from``): the learner's target networks (APPO) start as copies of the
        networks they track; the EnvRunners get the new weights."""
        from ..rllib.runs import load_module_weights

        load_module_weights(self.algo, module_state, "init weights")

    def env_runner_nodes(self) -> list[str]:
        """Ray node id of every healthy EnvRunner (the driver's node when sampling happens locally)."""
        import ray

        def node_id(_runner) -> str:
            import ray

            return ray.get_runtime_context().get_node_id()

        group = self.algo.env_runner_group
        if group.num_remote_env_runners() == 0:
            return [ray.get_runtime_context().get_node_id()]
        return list(group.foreach_env_runner(node_id, local_env_runner=False))

    def _record_cluster(self) -> None:
        nodes = self.env_runner_nodes()
        info = {"env_runner_nodes": nodes, "num_nodes": len(set(nodes))}
        (self.run_dir / "cluster.json").write_text(json.dumps(info))
        print(f"EnvRunners: {len(nodes)} on {len(set(nodes))} node(s)", file=self.out, flush=True)

    def checkpoint(self) -> Path:
        module_state, optim_state = self.get_weights()
        return save_checkpoint(self.run_dir, self.counters, module_state, optim_state)

    # -- loop ----------------------------------------------------------------------------------------
    def train(self, on_iteration: Callable[[dict], None] | None = None) -> dict:
        """Iterate until a stop criterion; returns the last iteration's summary. ``on_iteration(summary)`` is
        called after each iteration's progress row is written (``perceiver-rl tune`` reports it to Ray Tune)."""
        c = self.counters
        base_steps, base_restarts, base_wall = c.env_steps, c.restarts, c.wall_time_s
        start = time.time()
        summary: dict = {}
        last_return = math.nan
        idle, last_steps = 0, c.env_steps
        with (self.run_dir / "progress.jsonl").open("a") as progress:
            while True:
                result = self.algo.train()
                c.iteration += 1
                c.env_steps = base_steps + int(_get(result, "num_env_steps_sampled_lifetime", 0))
                runner_restarts = int(_get(result, "fault_tolerance/num_remote_worker_restarts", 0))
                env_failures = int(_get(result, "env_runners/num_env_step_failures", 0))
                c.restarts = base_restarts + runner_restarts + env_failures
                c.wall_time_s = base_wall + time.time() - start
                # Mean over the episodes that ended in this iteration; when none did (episodes longer than an
                # iteration's rollout), the last such mean, so the progress line and curves show no gaps.
                mean_return = _get(result, "env_runners/episode_return_mean")
                mean_return = last_return = last_return if math.isnan(mean_return) else mean_return
                steps_s = (c.env_steps - base_steps) / max(time.time() - start, 1e-9)
                stop = self.cfg.stop
                etas = [
                    (stop.env_steps - c.env_steps) / steps_s if stop.env_steps and steps_s else math.nan,
                    stop.time_s - (time.time() - start) if stop.time_s is not None else math.nan,
                ]
                eta = min((e for e in etas if e == e), default=math.nan)  # whichever budget runs out first
                summary = {
                    "iteration": c.iteration,
                    "env_steps": c.env_steps,
                    "episode_return_mean": mean_return,
                    "episode_len_mean": _get(result, "env_runners/episode_len_mean"),
                    "env_steps_per_s": steps_s,
                    "restarts": c.restarts,
                    "env_runner_restarts": runner_restarts,
                    "env_failures": env_failures,
                    "entities_dropped_per_episode": _get(result, "env_runners/entities_dropped"),
                    "illegal_actions_per_episode": _get(result, "env_runners/illegal_actions"),
                    "healthy_env_runners": _get(result, "fault_tolerance/num_healthy_workers"),
                    "policy_loss": _get(result, "learners/default_policy/policy_loss"),
                    "vf_loss": _get(result, "learners/default_policy/vf_loss"),
                    "entropy": _get(result, "learners/default_policy/entropy"),
                }
                print(
                    f"iter {c.iteration:4d} | env steps {c.env_steps:>9,} | return {mean_return:8.2f} | "
                    f"{steps_s:7.0f} steps/s | ETA {_fmt_eta(eta)} | "
                    f"restarts {c.restarts}",
                    file=self.out,
                    flush=True,
                )
                evaluated, recorded = due(self.cfg, c.iteration)
                if evaluated:  # greedy episodes with the learner's weights (training's random stream is restored)
                    ev = evaluate_in_training(self.module(), self.cfg, self.run_dir, c.iteration, recorded)
                    summary["eval_return_mean"] = ev["eval_return_mean"]
                    self.tb.log(c.env_steps, {"eval/return_mean": ev["eval_return_mean"]})
                    if ev["replay"] is not None:
                        self.tb.image(c.env_steps, "eval/replay", film_strip(ev["replay"]))
                self.tb.log(
                    c.env_steps,
                    {f"train/{k}": v for k, v in summary.items() if k not in ("env_steps", "eval_return_mean")},
                )
                progress.write(json.dumps(summary) + "\n")
                progress.flush()
                if on_iteration is not None:
                    on_iteration(summary)
                idle, last_steps = (idle + 1 if c.env_steps == last_steps else 0), c.env_steps
                if idle >= MAX_IDLE_ITERATIONS:
                    raise StalledError(
                        f"{self.run_dir}: no env step sampled in {idle} iterations in a row (healthy EnvRunners: "
                        f"{summary['healthy_env_runners']:g} of {self.cfg.env_runners.num_env_runners}, env failures "
                        f"{env_failures}); training stopped, the last checkpoint is kept"
                    )
                reason = stop_reason(self.cfg.stop, c, mean_return, time.time() - start)
                if reason or c.iteration % self.cfg.checkpoint_every == 0:
                    ckpt = self.checkpoint()
                if reason:
                    self._record_cluster()
                    print(f"stopped: {reason}; checkpoint {ckpt}", file=self.out, flush=True)
                    return summary

    def close(self) -> None:
        try:
            self.tb.close()
            self.algo.stop()
        finally:
            unlock_run_dir(self.run_dir)


def record_resume(run_dir: Path, cfg: ExperimentConfig, counters: Counters) -> None:
    """Make ``run_dir`` describe what is run from here on: ``config.yaml`` becomes ``cfg`` (replaced atomically) and
    ``resumes.jsonl`` gets one row: where the run resumed and which keys changed (``{key: [before, after]}``)."""
    import dataclasses

    import yaml

    from ..experiment.loader import load_saved_config

    before, after = dataclasses.asdict(load_saved_config(run_dir / "config.yaml")), dataclasses.asdict(cfg)
    old, new = _flat(before), _flat(after)
    row = {
        "iteration": counters.iteration,
        "env_steps": counters.env_steps,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "changed": {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)},
    }
    tmp = run_dir / ".config.yaml.tmp"
    tmp.write_text(yaml.safe_dump(after, sort_keys=False))
    os.replace(tmp, run_dir / "config.yaml")
    with (run_dir / "resumes.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")


def _flat(tree: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
