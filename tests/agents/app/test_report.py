"""``perceiver-rl report RUN``: one self-contained HTML file (config, learning curves, the evaluation table beside the
scripted agents and the SC2LE rows, replays with attention), one-line refusals that write nothing, and the page as a
real headless browser draws it (skipped, with a message, where no browser is installed)."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from agents.app.cli import CONFIGS_DIR, main
from agents.app.report import CURVE_COLOUR, Row, t975, wall_times
from support.hostile import refused

BEACON = str(CONFIGS_DIR / "sim_move_to_beacon_perceiver.yaml")
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
REPLAY_BACKGROUND = (22, 22, 26)
"""The replay frames' background (``envs.render._BG``): the screenshot must show a replay frame."""


@pytest.fixture(scope="module")
def cwd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(scope="module")
def run_dir(cwd: Path) -> Path:
    """A MoveToBeacon run directory: one checkpoint of a freshly built module and a few progress rows."""
    from agents.experiment.checkpoint import Counters, save_checkpoint
    from agents.experiment.loader import load_config
    from agents.experiment.run_dir import new_run_dir
    from agents.rllib.build import build_module, make_env

    cfg = load_config(BEACON, [f"runs_dir={cwd / 'runs'}"])
    env = make_env(cfg.env, cfg.env_config)
    module = build_module(cfg, env)
    env.close()
    run = new_run_dir(cfg)
    save_checkpoint(run, Counters(iteration=4, env_steps=4000, wall_time_s=40.0), module.state_dict(), {})
    rows = [{"iteration": i, "env_steps": 1000 * i, "episode_return_mean": [1.0, 3.0, 8.0, 12.0][i - 1],
             "env_steps_per_s": 100.0} for i in range(1, 5)]  # fmt: skip
    (run / "progress.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


@pytest.fixture(scope="module")
def report_html(cwd: Path, run_dir: Path) -> Path:
    out = cwd / "reports" / "beacon.html"
    out.parent.mkdir()
    here = Path.cwd()
    os.chdir(cwd)
    try:
        code = main(["report", str(run_dir.relative_to(cwd)), "--out", str(out), "--episodes", "2", "--replays", "1"])
    finally:
        os.chdir(here)
    assert code == 0
    return out


def test_the_report_is_one_self_contained_file(report_html: Path) -> None:
    text = report_html.read_text()
    assert sorted(p.name for p in report_html.parent.iterdir()) == ["beacon.html"]  # no temporary file left
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I)  # nothing from the network
    assert "<script" not in text.lower() and "<link" not in text.lower()
    for row in ("policy, greedy", "policy, sampled", "BeaconAgent", "DeepMind human", "Relational (Zambaldi 2019)"):
        assert f'<td class="agent">{row}</td>' in text
    assert "Student-t" in text and "env: perceiver_rl/Sim-MoveToBeacon-v0" in text  # the method and the config
    png = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    gifs = re.findall(r'src="data:image/gif;base64,([^"]+)"', text)
    assert len(png) == 1 and len(gifs) == 1
    curves = Image.open(io.BytesIO(base64.b64decode(png[0])))
    assert curves.format == "PNG" and curves.width >= 800
    replay = Image.open(io.BytesIO(base64.b64decode(gifs[0])))
    assert replay.format == "GIF" and getattr(replay, "n_frames", 1) == 241  # a whole MoveToBeacon episode


def test_intervals_and_wall_times(tmp_path: Path) -> None:
    row = Row("g", "a", [1.0, 3.0])
    assert row.mean == 2.0 and row.interval == pytest.approx((2 - 12.706, 2 + 12.706), abs=1e-3)  # s = sqrt(2)
    assert Row("g", "a", [5.0]).interval is None and Row("g", "a", [], 26.0).mean == 26.0
    assert t975(19) == 2.093 and t975(1000) == pytest.approx(1.9623, abs=1e-4)
    assert abs(t975(31) - 2.0395) < 1e-3
    # rate = steps since the process started / seconds; a resume at iteration 2 starts a new process there
    rows: list[dict] = [{"iteration": 1, "env_steps": 100, "env_steps_per_s": 10.0},
            {"iteration": 2, "env_steps": 200, "env_steps_per_s": 10.0},
            {"iteration": 3, "env_steps": 300, "env_steps_per_s": 5.0},
            {"iteration": 4, "env_steps": 400, "wall_time_s": 99.0},
            {"iteration": 5, "env_steps": 500}]  # fmt: skip
    (tmp_path / "resumes.jsonl").write_text(json.dumps({"iteration": 2, "env_steps": 200}) + "\n")
    walls = wall_times(tmp_path, rows)
    assert walls[:4] == [10.0, 20.0, 40.0, 99.0] and math.isnan(walls[4])


def test_refusals_are_one_line_and_write_nothing(cwd: Path, run_dir: Path) -> None:
    run = str(run_dir.relative_to(cwd))
    (cwd / "afile").write_text("x")
    (cwd / "adir").mkdir(exist_ok=True)
    refused(cwd, ["report", "nowhere"], "no checkpoint at nowhere")
    refused(cwd, ["report", run, "--out", "afile/r.html"], "--out afile/r.html: cannot write there")
    refused(cwd, ["report", run, "--out", "adir"], "--out adir: is a directory")
    refused(cwd, ["report", run, "--episodes", "2", "--replays", "3"], "--replays: expected <= --episodes (2), got 3")
    refused(cwd, ["report", run, "--episodes", "0"], "argument --episodes: expected an int >= 1, got 0")
    broken = run_dir.parent / "broken_progress"
    shutil.copytree(run_dir, broken)
    (broken / "progress.jsonl").write_text("{not json\n")
    refused(cwd, ["report", str(broken.relative_to(cwd))], "progress.jsonl: not a valid progress file")


def _browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def test_a_headless_browser_shows_the_curve_and_a_replay_frame(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("no headless browser (apt-get install chromium): the report's screenshot test is skipped")
    report_html: Path = request.getfixturevalue("report_html")
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,2400",
         report_html.as_uri()],
        capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    assert shot.is_file(), "the browser wrote no screenshot"
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 2400)
    colours = {rgb: n for n, rgb in image.getcolors(maxcolors=1 << 24) or []}
    curve = tuple(int(CURVE_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    assert colours.get(curve, 0) > 300, "no learning curve drawn"  # the 2.5 px line, in both panels
    assert colours.get(REPLAY_BACKGROUND, 0) > 2000, "no replay frame drawn"
    assert len(colours) > 50  # text, table, plots: not a blank page
