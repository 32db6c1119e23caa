"""Learning curves from a run directory's progress.jsonl, drawn to PNG (matplotlib, no display)."""

from __future__ import annotations

import json
from pathlib import Path


def read_progress(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "progress.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_learning_curves(
    runs: dict[str, Path], png: Path, *, title: str = "", references: dict[str, float] | None = None
) -> Path:
    """One line per run (label -> run dir): mean episode return against env steps; dashed reference levels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, run_dir in runs.items():
        rows = [r for r in read_progress(run_dir) if r["episode_return_mean"] == r["episode_return_mean"]]
        ax.plot([r["env_steps"] for r in rows], [r["episode_return_mean"] for r in rows], label=label)
    for label, level in (references or {}).items():
        ax.axhline(level, linestyle="--", linewidth=1, color="gray")
        ax.annotate(label, (0, level), textcoords="offset points", xytext=(2, 2), fontsize=7, color="gray")
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean episode return")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png
