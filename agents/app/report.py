"""``perceiver-rl report RUN``: one self-contained HTML page about a run (no network, no JavaScript).

The page holds the run's ``config.yaml``, its learning curves (mean episode return against env steps and against
wall-clock time, one matplotlib PNG), an evaluation table and the replays with the policy's attention:

- the policy of the run's latest checkpoint plays ``episodes`` episodes greedily and ``episodes`` sampled, episode
  ``k`` on seed ``seed + k`` (:func:`agents.app.evaluate.evaluate`); the first ``replays`` greedy episodes are
  recorded (:mod:`agents.app.replay`: GIFs with the attention overlay);
- the minigame's scripted agents (``envs.sc2.scripted``: the map's registry entry first, then the other combat or
  economy baselines) play the same seeds in the run's env (:func:`envs.sc2.scripted.run_episode`);
- the SC2LE reference rows (:mod:`agents.app.sc2le`) are shown beside them (published means, the real game).

Every row of our own carries the mean and a 95 % Student-t interval of the mean, ``mean +- t(0.975, N-1) * s /
sqrt(N)`` with ``s`` the sample standard deviation (``ddof=1``). Images and GIFs are inlined as base64 data URIs and
the CSS is inline, so the file opens anywhere. It is written through a temporary file and renamed: a failure leaves
nothing behind. Bad input raises a one-line ``ConfigError`` before any episode is played.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..nets.config_values import ConfigError, first_line
from .plot import read_progress

_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045,
         2.042)  # fmt: skip
"""The 0.975 quantile of Student's t with 1..30 degrees of freedom."""
CURVE_COLOUR = "#1f77b4"
"""The learning curves' line colour (the screenshot test looks for it)."""


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df >= 1`` degrees of freedom (a table to 30, then the Cornish-Fisher
    expansion around the normal quantile, within 1e-4 there)."""
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass
class Row:
    """One row of the evaluation table: per-episode ``scores`` (our own runs) or a published ``mean`` alone."""

    group: str
    agent: str
    scores: list[float] = field(default_factory=list)
    published: float | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores)) if self.scores else float(self.published or 0.0)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95 % Student-t interval of the mean; None for fewer than 2 scores."""
        n = len(self.scores)
        if n < 2:
            return None
        half = t975(n - 1) * float(np.std(self.scores, ddof=1)) / math.sqrt(n)
        return self.mean - half, self.mean + half

    def as_dict(self) -> dict:
        ci = self.interval
        return {"group": self.group, "agent": self.agent, "episodes": len(self.scores), "mean": self.mean,
                "ci95": list(ci) if ci else None, "scores": self.scores}  # fmt: skip


def check_out(out: Path) -> None:
    """``ConfigError`` naming ``--out`` unless a file can be written at ``out`` (its directory exists and is writable,
    ``out`` is not a directory). Creates nothing."""
    parent = out.absolute().parent
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a directory")
    if not parent.is_dir():
        raise ConfigError(f"--out {out}: cannot write there ({parent} is not a directory)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: cannot write there (permission denied on {parent})")


def progress_rows(run_dir: Path) -> list[dict]:
    """The run's progress rows (none without ``progress.jsonl``); ``ConfigError`` naming the file when unreadable."""
    path = run_dir / "progress.jsonl"
    if not path.is_file():
        return []
    try:
        rows = read_progress(run_dir)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: not a valid progress file ({first_line(e)})") from None
    if not all(isinstance(r, dict) and isinstance(r.get("env_steps"), int | float) for r in rows):
        raise ConfigError(f"{path}: not a valid progress file (a row without env_steps)")
    return rows


def wall_times(run_dir: Path, rows: list[dict]) -> list[float]:
    """Wall-clock seconds of each progress row: its ``wall_time_s`` where rows carry one, else derived from
    ``env_steps_per_s`` (measured since the process started: ``(env_steps - base) / rate``), where each
    ``resumes.jsonl`` row starts a new process at the wall time of the row it resumed from; NaN where unknown."""
    resumes: list[dict] = []
    if (run_dir / "resumes.jsonl").is_file():
        try:
            resumes = [json.loads(x) for x in (run_dir / "resumes.jsonl").read_text().splitlines() if x.strip()]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            resumes = []
    starts = sorted((int(r.get("iteration", 0)), float(r.get("env_steps", 0))) for r in resumes if isinstance(r, dict))
    out: list[float] = []
    base_steps, base_wall, last = 0.0, 0.0, 0.0
    for row in rows:
        while starts and int(row.get("iteration", 0)) > starts[0][0]:
            base_steps, base_wall = starts.pop(0)[1], last
        rate, wall = row.get("env_steps_per_s"), row.get("wall_time_s")
        if isinstance(wall, int | float):
            value = float(wall)
        elif isinstance(rate, int | float) and rate > 0 and math.isfinite(rate):
            value = base_wall + (float(row["env_steps"]) - base_steps) / rate
        else:
            value = math.nan
        out.append(value)
        last = value if math.isfinite(value) else last
    return out


def curves_png(run_dir: Path, rows: list[dict], references: dict[str, float]) -> bytes:
    """Mean episode return against env steps (left) and wall-clock time (right), PNG bytes; ``references``: dashed
    horizontal levels (label -> score); the in-training greedy evaluations (``eval_return_mean``) as markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [float(r["env_steps"]) for r in rows]
    returns = [float(r.get("episode_return_mean", math.nan)) for r in rows]
    walls = [w / 60 for w in wall_times(run_dir, rows)]
    evals = [(i, float(r["eval_return_mean"])) for i, r in enumerate(rows)
             if isinstance(r.get("eval_return_mean"), int | float)]  # fmt: skip
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), dpi=100)
    for ax, xs, label in ((axes[0], steps, "env steps"), (axes[1], walls, "wall-clock time (min)")):
        ax.plot(xs, returns, color=CURVE_COLOUR, linewidth=2.5, label="training return (mean)")
        if evals:
            ax.plot([xs[i] for i, _ in evals], [v for _, v in evals], "o", color="#2ca02c", markersize=4,
                    label="greedy evaluation (training)")  # fmt: skip
        for (name, level), colour in zip(references.items(), ("#d62728", "#9467bd", "#8c564b", "#7f7f7f")):
            ax.axhline(level, linestyle="--", linewidth=1, color=colour, label=f"{name}: {level:.2f}")
        ax.set_xlabel(label)
        ax.set_ylabel("mean episode return")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def scripted_rows(env_id: str, env_config: dict, episodes: int, seed: int) -> list[Row]:
    """The minigame's scripted agents on seeds ``seed .. seed + episodes - 1`` of the run's env (none where the env
    is not a minigame with scripted agents, or an agent cannot play its action set)."""
    from envs.sc2.scripted import SCRIPTED_AGENTS, run_episode
    from envs.sc2.scripted_combat import COMBAT_AGENTS
    from envs.sc2.scripted_economy import ECONOMY_AGENTS

    from ..rllib.build import make_env
    from .sc2le import minigame_of

    game = minigame_of(env_id)
    if game not in SCRIPTED_AGENTS:
        return []
    agents = list(dict.fromkeys([SCRIPTED_AGENTS[game], *COMBAT_AGENTS.get(game, ()), *ECONOMY_AGENTS.get(game, [])]))
    import envs

    env = make_env(env_id, env_config)
    rows = []
    try:
        act_spec = envs.contract_of(env)["act_spec"]
        for agent_class in agents:
            try:
                agent = agent_class(act_spec)
            except ValueError:  # the run's action set lacks what this agent plays
                continue
            scores = [float(run_episode(env, agent, seed=seed + k)) for k in range(episodes)]
            rows.append(Row("scripted (simulator, same seeds)", agent_class.__name__, scores))
    finally:
        env.close()
    return rows


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


_CSS = """
body { font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 16px 24px; color: #222; background: #fff;
       max-width: 1150px; }
h1 { font-size: 22px; margin: 0 0 4px 0; } h2 { font-size: 17px; margin: 18px 0 6px 0; }
.meta { color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: right; }
th { background: #f2f2f2; } td.agent, th.agent { text-align: left; }
tr.group td { background: #fafafa; font-weight: bold; text-align: left; }
pre { background: #f7f7f7; border: 1px solid #e2e2e2; padding: 6px; font-size: 11px; max-height: 320px;
      overflow: auto; }
figure { display: inline-block; margin: 0 14px 10px 0; } figcaption { font-size: 12px; color: #444; }
img.replay { width: 384px; image-rendering: pixelated; }
"""


def _fmt(x: float) -> str:
    return f"{x:,.2f}"


def _table(rows: list[Row]) -> str:
    out = ['<table id="scores"><tr><th class="agent">agent</th><th>episodes</th><th>mean</th>'
           "<th>95 % interval</th><th>std</th><th>min</th><th>max</th></tr>"]  # fmt: skip
    group = None
    for r in rows:
        if r.group != group:
            group = r.group
            out.append(f'<tr class="group"><td colspan="7">{html.escape(group)}</td></tr>')
        if r.scores:
            ci = r.interval
            cells = [str(len(r.scores)), _fmt(r.mean), f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else "-",
                     _fmt(float(np.std(r.scores, ddof=1))) if len(r.scores) > 1 else "-",
                     _fmt(min(r.scores)), _fmt(max(r.scores))]  # fmt: skip
        else:
            cells = ["-", f"{r.mean:g}", "-", "-", "-", "-"]
        tds = "".join(f"<td>{c}</td>" for c in cells)
        out.append(f'<tr><td class="agent">{html.escape(r.agent)}</td>{tds}</tr>')
    return "\n".join([*out, "</table>"])


def render_html(info: dict, config_text: str, png: bytes | None, rows: list[Row], replays: list[dict]) -> str:
    """The page (``info``: title and run facts; ``replays``: ``{"gif": bytes, "caption": str}``)."""
    e = html.escape
    facts = " | ".join(f"{e(k)}: {e(str(v))}" for k, v in info["facts"].items())
    curves = (
        f'<img id="curves" alt="learning curves" src="{_data_uri(png, "image/png")}">'
        if png
        else "<p>No learning curve: the run has no progress rows.</p>"
    )
    figures = "\n".join(
        f'<figure><img class="replay" alt="replay" src="{_data_uri(r["gif"], "image/gif")}">'
        f"<figcaption>{e(r['caption'])}</figcaption></figure>"
        for r in replays
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(info["title"])}</title><style>{_CSS}</style></head>
<body>
<h1>{e(info["title"])}</h1>
<p class="meta">{facts}</p>
<h2>Learning curves</h2>
{curves}
<h2>Evaluation</h2>
<p class="meta">{e(info["evaluation"])}</p>
{_table(rows)}
<h2>Replays</h2>
<p class="meta">{e(info["replays"])}</p>
{figures}
<h2>Config</h2>
<pre>{e(config_text)}</pre>
</body></html>
"""


def write_atomic(out: Path, text: str) -> None:
    """Write ``text`` to ``out`` through a temporary file beside it, renamed into place; ``ConfigError`` naming
    ``--out`` (and nothing left behind) when that fails."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.absolute().parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"--out {out}: cannot write there ({e.strerror or e})") from None


def report(run: str | Path, out: Path | None = None, episodes: int = 20, seed: int = 10000, replays: int = 2) -> dict:
    """Evaluate the run's latest checkpoint and write its report to ``out`` (default ``RUN/report.html``); returns
    ``{"out", "rows", "seconds"}``. Every check runs before the first episode."""
    import time

    from ..experiment.checkpoint import load_checkpoint, resolve_checkpoint
    from ..experiment.run_dir import load_run_config, run_dir_of
    from .evaluate import evaluate
    from .sc2le import minigame_of, reference_rows

    start = time.perf_counter()
    if replays > episodes:
        raise ConfigError(f"--replays: expected <= --episodes ({episodes}), got {replays}")
    ckpt = resolve_checkpoint(run)
    run_dir = run_dir_of(ckpt)
    cfg = load_run_config(ckpt)
    counters = load_checkpoint(ckpt)[0]
    out = Path(out) if out is not None else run_dir / "report.html"
    check_out(out)
    rows_progress = progress_rows(run_dir)
    config_text = (run_dir / "config.yaml").read_text(encoding="utf-8", errors="replace")

    from ..rllib.build import make_env

    env = make_env(cfg.env, cfg.env_config, plugins=cfg.plugins)
    renderable = callable(getattr(env.unwrapped, "frame", None))
    env.close()
    record = replays if renderable else 0
    with tempfile.TemporaryDirectory(prefix="perceiver-rl-report-") as tmp:
        greedy: list[float] = []
        gifs: list[dict] = []
        if record:
            first = evaluate(ckpt, None, record, seed=seed, record=Path(tmp) / "replays")
            greedy += first["returns"]
            for k, path in enumerate(first["recordings"]):
                caption = f"greedy episode {k}, seed {seed + k}: return {first['returns'][k]:g}"
                gifs.append({"gif": Path(path).read_bytes(), "caption": caption})
        if episodes > record:
            greedy += evaluate(ckpt, None, episodes - record, seed=seed + record)["returns"]
    sampled = evaluate(ckpt, None, episodes, seed=seed, explore=True)["returns"]
    own = f"this run (checkpoint iteration {counters.iteration}, {counters.env_steps:,} env steps)"
    rows = [Row(own, "policy, greedy", greedy), Row(own, "policy, sampled", sampled)]
    rows += scripted_rows(cfg.env, cfg.env_config, episodes, seed)
    game = minigame_of(cfg.env)
    if game:
        rows += [Row(f"SC2LE {game}, published means (the real game)", a, [], s) for a, s in reference_rows(game)]

    references = {"greedy (this report)": rows[0].mean}
    references.update({r.agent: r.mean for r in rows if r.group.startswith("scripted")})
    png = curves_png(run_dir, rows_progress, references) if rows_progress else None
    wall = f"{counters.wall_time_s / 60:.1f} min" if counters.wall_time_s else "unknown"
    info = {
        "title": f"perceiver-rl report: {run_dir.name}",
        "facts": {
            "env": cfg.env,
            "algorithm": cfg.algorithm,
            "model": f"{cfg.model.module} ({cfg.model.policy.encoder} encoder)"
            if cfg.model.module == "alphastar"
            else cfg.model.module,
            "checkpoint": f"{ckpt.name} ({counters.env_steps:,} env steps, {wall} of training)",
        },
        "evaluation": (
            f"{episodes} episodes per agent on seeds {seed}..{seed + episodes - 1} (episode k on seed {seed} + k). "
            "95 % interval: Student-t interval of the mean, mean +- t(0.975, N-1) * s / sqrt(N), s the sample "
            "standard deviation. SC2LE rows: published means on the real game (no interval)."
        ),
        "replays": (
            f"The first {record} greedy episodes: the agent's action in yellow, the encoder's attention on the "
            "entities as halos, the location head's distribution as a heat map."
            if record
            else "No replays (--replays 0, or an env without a renderer)."
        ),
    }
    write_atomic(out, render_html(info, config_text, png, rows, gifs))
    return {"out": str(out), "rows": [r.as_dict() for r in rows], "seconds": time.perf_counter() - start}
